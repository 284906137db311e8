// Package fault wraps transports to inject network faults between chosen
// nodes: black holes, partitions, one-way cuts, delays and broken
// connections. It is meant for tests, ours and yours.
//
// Wrap every node's transport with the same Network, then change the faults
// while the cluster runs:
//
//	fn := fault.NewNetwork()
//	a, _ := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(fn.Wrap(tcp.New())))
//	...
//	fn.Partition([]string{a.String()}, []string{b.String(), c.String()})
//	...
//	fn.Heal()
//
// Nodes are named by their listen addresses. Faults apply to the connections
// a node dials, in both directions: the dialler's end of each connection
// holds back what either side sends, so the acceptor needs no way to tell
// which node dialled it.
package fault

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/peerweave/peerweave/internal/addr"
	"github.com/peerweave/peerweave/transport"
)

// ErrUnreachable is returned by Dial between nodes that are cut off from each
// other, once the dial's context ends.
var ErrUnreachable = fmt.Errorf("fault: %w", syscall.EHOSTUNREACH)

// link is an ordered pair of nodes: dialler, then target.
type link struct{ from, to netip.AddrPort }

// rule is what happens on the connections of a link.
type rule struct {
	send  bool          // what the dialler sends is held back
	recv  bool          // what the dialler receives is held back
	delay time.Duration // added to everything either side sends
}

// cut reports whether nothing gets through in at least one direction, so
// that new connections cannot be set up.
func (r rule) cut() bool { return r.send || r.recv }

// Network holds the faults between the nodes whose transports it wrapped.
type Network struct {
	mu      sync.Mutex // guards the fields below
	rules   map[link]rule
	nodes   map[netip.AddrPort]struct{} // every node that listened
	conns   map[*conn]struct{}
	dials   map[link]int
	changed chan struct{} // closed and replaced when rules change
}

// NewNetwork returns a network without faults.
func NewNetwork() *Network {
	return &Network{
		rules:   make(map[link]rule),
		nodes:   make(map[netip.AddrPort]struct{}),
		conns:   make(map[*conn]struct{}),
		dials:   make(map[link]int),
		changed: make(chan struct{}),
	}
}

// Wrap returns a transport that behaves as t but for the faults set on nw.
// Each node needs a transport of its own from Wrap: the transport learns the
// node's name when the node listens.
func (nw *Network) Wrap(t transport.Transport) transport.Transport {
	return &nodeTransport{nw: nw, inner: t}
}

// key returns the canonical form of a node's name, which must be "ip:port".
func key(name string) netip.AddrPort {
	k, err := addr.Parse(name)
	if err != nil {
		panic(fmt.Sprintf("fault: %q is not ip:port: %v", name, err))
	}
	return k
}

// Partition black-holes all traffic between every node of a and every node of
// b, both ways, until Heal. Connections between them stall as if cables were
// cut: writes block, reads see nothing, and new dials hang.
func (nw *Network) Partition(a, b []string) {
	nw.update(func() {
		for _, x := range a {
			for _, y := range b {
				nw.cutLocked(key(x), key(y))
				nw.cutLocked(key(y), key(x))
			}
		}
	})
}

// Blackhole black-holes traffic between nodes a and b, both ways.
func (nw *Network) Blackhole(a, b string) { nw.Partition([]string{a}, []string{b}) }

// Cut black-holes traffic from node from to node to, one way, until Heal:
// to hears nothing from from, while from still hears to. New dials between
// them hang, as a TCP handshake needs both ways.
func (nw *Network) Cut(from, to string) {
	nw.update(func() { nw.cutLocked(key(from), key(to)) })
}

// Isolate black-holes all traffic between node a and every other node that
// listened through the network so far.
func (nw *Network) Isolate(a string) {
	ka := key(a)
	nw.update(func() {
		for k := range nw.nodes {
			if k != ka {
				nw.cutLocked(ka, k)
				nw.cutLocked(k, ka)
			}
		}
	})
}

// Delay holds each write between nodes a and b, both ways, for d before the
// other side can read it, as a slow link would: a deadline does not cut the
// wait short, but a call whose deadline passed meanwhile then fails with a
// timeout, and nothing is lost.
func (nw *Network) Delay(a, b string, d time.Duration) {
	nw.update(func() {
		nw.setLocked(key(a), key(b), func(r *rule) { r.delay = d })
		nw.setLocked(key(b), key(a), func(r *rule) { r.delay = d })
	})
}

// Break closes every open connection between nodes a and b at once, without a
// goodbye, as a crashed peer or a reset would. New connections may follow.
func (nw *Network) Break(a, b string) {
	ka, kb := key(a), key(b)
	nw.mu.Lock()
	var broken []*conn
	for c := range nw.conns {
		if (c.link.from == ka && c.link.to == kb) || (c.link.from == kb && c.link.to == ka) {
			broken = append(broken, c)
		}
	}
	nw.mu.Unlock()
	for _, c := range broken {
		c.Close()
	}
}

// Heal removes every fault. Stalled connections resume, with nothing lost,
// unless a node gave up on them in the meantime.
func (nw *Network) Heal() {
	nw.update(func() { clear(nw.rules) })
}

// Dials returns how many times node from has dialled node to.
func (nw *Network) Dials(from, to string) int {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.dials[link{key(from), key(to)}]
}

// cutLocked stops traffic from node from to node to on the connections
// either of them dials. nw.mu must be held.
func (nw *Network) cutLocked(from, to netip.AddrPort) {
	nw.setLocked(from, to, func(r *rule) { r.send = true })
	nw.setLocked(to, from, func(r *rule) { r.recv = true })
}

func (nw *Network) setLocked(from, to netip.AddrPort, f func(*rule)) {
	l := link{from, to}
	r := nw.rules[l]
	f(&r)
	nw.rules[l] = r
}

func (nw *Network) update(f func()) {
	nw.mu.Lock()
	f()
	close(nw.changed)
	nw.changed = make(chan struct{})
	nw.mu.Unlock()
}

// state returns the rule on l and a channel closed when rules change.
func (nw *Network) state(l link) (rule, <-chan struct{}) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.rules[l], nw.changed
}

// nodeTransport is one node's transport, wrapped.
type nodeTransport struct {
	nw    *Network
	inner transport.Transport

	mu   sync.Mutex // guards self
	self netip.AddrPort
}

func (t *nodeTransport) Listen(laddr string) (net.Listener, error) {
	ln, err := t.inner.Listen(laddr)
	if err != nil {
		return nil, err
	}
	self := key(ln.Addr().String())
	t.mu.Lock()
	t.self = self
	t.mu.Unlock()
	t.nw.mu.Lock()
	t.nw.nodes[self] = struct{}{}
	t.nw.mu.Unlock()
	return ln, nil
}

func (t *nodeTransport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	t.mu.Lock()
	l := link{t.self, key(raddr)}
	t.mu.Unlock()
	t.nw.mu.Lock()
	t.nw.dials[l]++
	t.nw.mu.Unlock()
	for {
		r, changed := t.nw.state(l)
		if !r.cut() {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("dial %s: %w (%w)", raddr, ErrUnreachable, ctx.Err())
		}
	}
	inner, err := t.inner.Dial(ctx, raddr)
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: inner, nw: t.nw, link: l, moved: make(chan struct{}), closed: make(chan struct{})}
	t.nw.mu.Lock()
	t.nw.conns[c] = struct{}{}
	t.nw.mu.Unlock()
	return c, nil
}

// conn is the dialler's end of a connection, where faults are applied: what
// the dialler writes waits before it goes out, what it reads waits after it
// came in.
type conn struct {
	net.Conn
	nw   *Network
	link link

	mu            sync.Mutex // guards the deadlines and moved
	readDeadline  time.Time
	writeDeadline time.Time
	moved         chan struct{} // closed and replaced when a deadline changes

	rmu    sync.Mutex // serialises reads; guards held and heldAt
	held   []byte     // read from the connection, not yet let through
	heldAt time.Time  // when held was read

	closeOnce sync.Once
	closed    chan struct{}
}

// direction is the way data flows through the dialler's end.
type direction bool

const (
	outbound direction = false // written by the dialler
	inbound  direction = true  // read by the dialler
)

// pass waits until data that reached this end at since may go on in
// direction d: no black hole that way, and the delay elapsed. A black hole
// holds the call until the deadline of d, including one set while it waits;
// a delay is the link's and is not cut short, but the call fails once it is
// over if the deadline passed meanwhile, as it would on a slow socket. pass
// gives up when the connection closes.
func (c *conn) pass(d direction, since time.Time) error {
	for {
		r, changed := c.nw.state(c.link)
		deadline, moved := c.deadline(d)
		expired := !deadline.IsZero() && !time.Now().Before(deadline)
		var ok bool
		switch {
		case (d == outbound && r.send) || (d == inbound && r.recv):
			if expired {
				return os.ErrDeadlineExceeded
			}
			ok = c.sleep(deadline, changed, moved)
		case time.Now().Before(since.Add(r.delay)):
			ok = c.sleep(since.Add(r.delay), changed, nil)
		case expired:
			return os.ErrDeadlineExceeded
		default:
			return nil
		}
		if !ok {
			return net.ErrClosed
		}
	}
}

// sleep waits until the time until (if not zero), a change of the rules or of
// the deadlines, and reports false if the connection closed first.
func (c *conn) sleep(until time.Time, changed, moved <-chan struct{}) bool {
	var timer <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-changed:
	case <-moved:
	case <-timer:
	case <-c.closed:
		return false
	}
	return true
}

func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(c.held) == 0 {
		n, err := c.Conn.Read(b)
		if n == 0 {
			return 0, err
		}
		c.held = append(c.held[:0], b[:n]...)
		c.heldAt = time.Now()
	}
	if err := c.pass(inbound, c.heldAt); err != nil {
		return 0, err
	}
	n := copy(b, c.held)
	c.held = c.held[n:]
	return n, nil
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.pass(outbound, time.Now()); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.nw.mu.Lock()
		delete(c.nw.conns, c)
		c.nw.mu.Unlock()
	})
	return c.Conn.Close()
}

// deadline returns the deadline of direction d and a channel closed when a
// deadline changes.
func (c *conn) deadline(d direction) (time.Time, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d == inbound {
		return c.readDeadline, c.moved
	}
	return c.writeDeadline, c.moved
}

// setDeadlines updates the deadlines under mu and wakes every wait.
func (c *conn) setDeadlines(f func()) {
	c.mu.Lock()
	f()
	close(c.moved)
	c.moved = make(chan struct{})
	c.mu.Unlock()
}

func (c *conn) SetDeadline(t time.Time) error {
	c.setDeadlines(func() { c.readDeadline, c.writeDeadline = t, t })
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.setDeadlines(func() { c.readDeadline = t })
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.setDeadlines(func() { c.writeDeadline = t })
	return c.Conn.SetWriteDeadline(t)
}
