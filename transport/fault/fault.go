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
// # Which end a fault acts on
//
// Nodes are named by their listen addresses. Faults and shapes act on the
// connections a node dials, in both directions, at the dialler's end: it
// holds back what the dialler sends before it goes out, and what the
// acceptor sends before the dialler reads it, so the acceptor needs no way
// to tell which node dialled it. The acceptor's end is the wrapped
// transport's own connection, untouched: its deadlines, its buffers and
// its Unacked and CloseWrite, if it has them, are that transport's. A
// fault between a and b thus reaches every connection between them,
// whichever dialled, but only through the Network that wrapped the
// dialler's transport.
//
// A fault holds back the end of a stream as it holds back data: while a
// black hole, a partition or a one-way cut stops the way out of a
// connection, a Close or CloseWrite at that end does not reach the other,
// which sees silence, as behind a real black hole, not a closed
// connection; the end gets through once the fault heals. Until then the
// wrapped transport's connection stays open, with what it holds (over
// QUIC, its endpoint's goroutines too): call Heal when a test ends, after
// closing the nodes, to let them go. Break alone ends connections at once,
// as a reset or a crash does.
//
// # Virtual time
//
// The connections wait on channels and timers only, never on a lock, so
// over a transport that waits the same way, as transport/mem does, a
// Network works inside a testing/synctest bubble: faults, deadlines,
// latencies and bandwidths all run on the bubble's clock, which jumps
// ahead whenever every goroutine waits, so that a test of minutes of
// timeouts runs in milliseconds, and times come out exact. Make both
// networks inside the bubble, and close every connection, then sleep long
// enough for the links to deliver what they hold and a second more (the
// linger of Network.Shape), before the bubble's function returns, so that
// the links' goroutines end with it:
//
//	synctest.Test(t, func(t *testing.T) {
//		network, fn := mem.NewNetwork(), fault.NewNetwork()
//		a, b := fn.Wrap(network), fn.Wrap(network) // one per node
//		lnB, _ := b.Listen("10.0.0.2:7946")
//		a.Listen("10.0.0.1:7946")
//		fn.Shape("10.0.0.1:7946", "10.0.0.2:7946", fault.Link{Bandwidth: 1 << 20})
//		c, _ := a.Dial(t.Context(), "10.0.0.2:7946")
//		...
//		c.Close()
//		time.Sleep(time.Minute) // at once on the wall clock
//	})
//
// A Go example cannot run in a bubble (synctest.Test needs the test's
// *testing.T), so this package's examples run on the wall clock; the tests
// named TestInABubble show the same calls in bubbles.
package fault

import (
	"context"
	"fmt"
	"net"
	"net/netip"
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
// listened through the network so far. It covers only the nodes that exist
// when it is called: a node that listens later can talk to a, until
// Isolate is called again.
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

// update changes the faults with f, wakes every call that waits on them,
// and lets through the ends of streams they no longer hold back.
func (nw *Network) update(f func()) {
	nw.mu.Lock()
	f()
	nw.stopLocked()
	close(nw.changed)
	nw.changed = make(chan struct{})
	ends := nw.healedLocked()
	nw.mu.Unlock()
	for _, e := range ends {
		e.c.endInner(e.e)
	}
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
	c := newConn(t.nw, inner, l)
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
