// Package fault wraps transports to inject network faults between chosen
// nodes: black holes, partitions, one-way cuts, delays and broken
// connections, and to shape the links between them with a bandwidth and a
// latency. It is meant for tests, ours and yours.
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
// Shape makes a slow link, one way, as a real one would be: bytes leave at
// most at the bandwidth and arrive a latency after they left, pipelined,
// and the deadlines work as on a socket (see Link). Shapes stay until
// changed; ShapeAll shapes every link at once:
//
//	fn.Shape(a.String(), b.String(), fault.Link{Bandwidth: 1 << 20, Latency: 20 * time.Millisecond})
//	fn.Shape(b.String(), a.String(), fault.Link{Bandwidth: 1 << 20, Latency: 20 * time.Millisecond})
//	...
//	fn.ShapeAll(fault.Link{}) // unshaped again
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
	"sync/atomic"
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
	shapes  map[link]Link // by direction: from, then to
	shape   Link          // of the directions not in shapes
	shaping atomic.Bool   // whether a link was ever shaped
}

// NewNetwork returns a network without faults.
func NewNetwork() *Network {
	return &Network{
		rules:   make(map[link]rule),
		nodes:   make(map[netip.AddrPort]struct{}),
		conns:   make(map[*conn]struct{}),
		dials:   make(map[link]int),
		changed: make(chan struct{}),
		shapes:  make(map[link]Link),
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
		c.close(true)
	}
}

// Heal removes every fault. Stalled connections resume, with nothing lost,
// unless a node gave up on them in the meantime. Links keep their shapes.
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
	nw.stopLocked()
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
	c := &conn{
		Conn: inner, nw: t.nw, link: l,
		moved: make(chan struct{}), wsem: make(chan struct{}, 1),
		closed: make(chan struct{}), aborted: make(chan struct{}),
	}
	t.nw.mu.Lock()
	t.nw.conns[c] = struct{}{}
	t.nw.mu.Unlock()
	// Nothing reads or writes c yet, so its shaped directions start now,
	// with nothing on the way.
	if t.nw.shaping.Load() {
		c.shape(outbound, nil, time.Time{})
		c.shape(inbound, nil, time.Time{})
	}
	return c, nil
}

// conn is the dialler's end of a connection, where faults are applied: what
// the dialler writes waits before it goes out, what it reads waits after it
// came in. A shaped direction goes through a wire: the dialler's writes go
// into one that a goroutine empties into the inner connection, and a
// goroutine fills one from the inner connection for the dialler's reads.
type conn struct {
	net.Conn
	nw   *Network
	link link

	mu            sync.Mutex // guards the deadlines, moved and the flags below
	readDeadline  time.Time
	writeDeadline time.Time
	moved         chan struct{} // closed and replaced when a deadline changes
	shapedIn      bool          // reads come from a wire: deadlines stay here
	shapedOut     bool          // writes go into a wire: deadlines stay here
	done          bool          // Close was called

	rmu    sync.Mutex // serialises reads; guards held and heldAt
	held   []byte     // read from the connection, not yet let through
	heldAt time.Time  // when held was read

	wsem chan struct{} // serialises writes, as a socket does

	// The wires of the shaped directions, set under nw.mu once a direction
	// is first shaped and kept from then on.
	out, in atomic.Pointer[wire]

	closeOnce sync.Once
	closed    chan struct{}
	abortOnce sync.Once
	aborted   chan struct{} // closed when the connection breaks
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
		n, at, err := c.fill(b)
		if n == 0 {
			return 0, err
		}
		c.held = append(c.held[:0], b[:n]...)
		c.heldAt = at
	}
	if err := c.pass(inbound, c.heldAt); err != nil {
		return 0, err
	}
	n := copy(b, c.held)
	c.held = c.held[n:]
	return n, nil
}

// fill reads into b what comes in next, from the inner connection or, once
// the direction is shaped, from its wire, and returns when it came in.
func (c *conn) fill(b []byte) (int, time.Time, error) {
	w := c.in.Load()
	if w == nil && c.nw.shaping.Load() {
		w = c.shape(inbound, nil, time.Time{})
	}
	if w == nil {
		n, err := c.Conn.Read(b)
		at := time.Now()
		if n == 0 {
			if c.isClosed() {
				err = net.ErrClosed
			}
			return 0, at, err
		}
		// Shaped while this read waited: the bytes take the link too.
		if !c.nw.shaping.Load() {
			return n, at, nil
		}
		if w = c.shape(inbound, b[:n], at); w == nil {
			return n, at, nil
		}
	}
	return c.takeIn(w, b)
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.pass(outbound, time.Now()); err != nil {
		return 0, err
	}
	if err := c.lockWrite(); err != nil {
		return 0, err
	}
	defer func() { <-c.wsem }()
	w := c.out.Load()
	if w == nil && c.nw.shaping.Load() {
		w = c.shape(outbound, nil, time.Time{})
	}
	if w == nil {
		return c.Conn.Write(b)
	}
	return c.putOut(w, b)
}

// lockWrite waits for the writes before to finish, or the write deadline.
func (c *conn) lockWrite() error {
	select {
	case c.wsem <- struct{}{}:
		return nil
	default:
	}
	for {
		deadline, moved := c.deadline(outbound)
		if expired(deadline) {
			return os.ErrDeadlineExceeded
		}
		var timer *time.Timer
		var fired <-chan time.Time
		if !deadline.IsZero() {
			timer = time.NewTimer(time.Until(deadline))
			fired = timer.C
		}
		var err error
		locked := false
		select {
		case c.wsem <- struct{}{}:
			locked = true
		case <-moved:
		case <-fired:
		case <-c.closed:
			err = net.ErrClosed
		}
		if timer != nil {
			timer.Stop()
		}
		if locked || err != nil {
			return err
		}
	}
}

func expired(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *conn) Close() error { return c.close(false) }

// close closes the connection. What a shaped link holds still goes out, as
// a socket sends what it buffered, unless abort: then it is dropped, as
// after a reset.
func (c *conn) close(abort bool) error {
	var err error
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.nw.mu.Lock()
		close(c.closed)
		out := c.out.Load()
		if out == nil || abort {
			// Otherwise the link still carries what it holds, and still
			// heeds the faults and shapes: the sending goroutine forgets c.
			delete(c.nw.conns, c)
		}
		c.nw.mu.Unlock()
		c.mu.Lock()
		c.done = true
		c.mu.Unlock()
		if out == nil || abort {
			err = c.Conn.Close()
			return
		}
		// The sending goroutine closes the inner connection once the link
		// delivered what it holds, or gave up.
		giveUp := out.finish(net.ErrClosed, time.Now(), linger)
		c.Conn.SetWriteDeadline(giveUp)
		c.Conn.SetReadDeadline(time.Unix(1, 0)) // unblocks a read
	})
	if abort {
		c.abortOnce.Do(func() { close(c.aborted) })
		if !first {
			return c.Conn.Close()
		}
	}
	if !first && c.out.Load() == nil {
		return c.Conn.Close()
	}
	return err
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

// setDeadline sets the read deadline, the write deadline or both to t and
// wakes every wait. A shaped direction keeps its deadline here: the inner
// connection's is the link's, which never times out.
func (c *conn) setDeadline(read, write bool, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		c.readDeadline = t
	}
	if write {
		c.writeDeadline = t
	}
	close(c.moved)
	c.moved = make(chan struct{})
	if c.done {
		return net.ErrClosed
	}
	read = read && !c.shapedIn
	write = write && !c.shapedOut
	switch {
	case read && write:
		return c.Conn.SetDeadline(t)
	case read:
		return c.Conn.SetReadDeadline(t)
	case write:
		return c.Conn.SetWriteDeadline(t)
	}
	return nil
}

func (c *conn) SetDeadline(t time.Time) error      { return c.setDeadline(true, true, t) }
func (c *conn) SetReadDeadline(t time.Time) error  { return c.setDeadline(true, false, t) }
func (c *conn) SetWriteDeadline(t time.Time) error { return c.setDeadline(false, true, t) }
