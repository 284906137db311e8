package cluster

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/peerweave/peerweave/internal/addr"
)

// Until its handshake's verdict, a connection comes from a stranger: with a
// secret, anyone who can reach the port; without, anyone at all. The gate
// bounds what strangers hold: at most maxHandshakes handshakes run at once,
// at most maxHandshakesPerSource of them from one source address (an IPv4
// address, or an IPv6 /64, which one host usually has whole). A connection
// over either cap waits, holding its descriptor and a waiter but no
// goroutine and no buffer, in a queue of at most maxWaiting, for at most
// handshakeTimeout; waiting connections are served in turn per source, so
// that one source's crowd delays another's connection by one handshake at
// most. A connection that finds the queue full pushes out the newest waiter
// of the source with the most waiting, or is closed at once if that is its
// own source.

// The gate's caps: defaults, not options. An honest node opens one
// connection to another at a time, and a crowd of honest nodes joining
// through one seed from one host waits its turn in the queue, each served
// within a handshake's time of those before it.
const (
	maxHandshakes          = 64
	maxHandshakesPerSource = 8
	maxWaiting             = 1024
)

// gate holds the handshakes in flight and the connections waiting for
// one; its zero value is ready, and its sweeper (sweep) closes what waits
// too long.
type gate struct {
	mu       sync.Mutex // guards the fields below
	inFlight int
	sources  map[netip.Prefix]*source // those with handshakes in flight or waiting
	turns    []netip.Prefix           // sources with waiters, served in turn from the front
	waiting  int
	closed   bool // by Close: no connection waits or starts any more
	// peak and peakFrom are the most handshakes seen in flight, in all and
	// from one source, for the tests.
	peak, peakFrom int
	// wake, of capacity 1, tells the sweeper that a connection waits.
	wake chan struct{}
	// turnedAway counts the connections turned away since warned, when
	// the node last said so (strangers.go).
	turnedAway int
	warned     time.Time
	// hellos is the room for the large hellos of handshakes in flight
	// (helloroom.go).
	hellos helloBudget
}

// source is one source address's share of the gate.
type source struct {
	inFlight int
	queue    []waiter // oldest first
}

// waiter is a connection waiting for a slot, until it expires.
type waiter struct {
	conn    net.Conn
	expires time.Time
}

// sourceOf returns the source that conn counts against: its remote IPv4
// address or IPv6 /64, or the zero prefix for an address of another kind.
func sourceOf(conn net.Conn) netip.Prefix {
	a, err := addr.Of(conn.RemoteAddr())
	if err != nil {
		return netip.Prefix{}
	}
	ip := a.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// enter admits conn, accepted at now, to the gate. It reports whether
// conn takes a slot at once; if not, conn waits, unless it is in closed,
// the connections that the gate turned away (conn, or a waiter it pushed
// out), to be closed by the caller with errQueueFull.
func (g *gate) enter(conn net.Conn, now time.Time, timeout time.Duration) (start bool, closed net.Conn) {
	src := sourceOf(conn)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false, conn
	}
	if g.sources == nil {
		g.sources = make(map[netip.Prefix]*source)
	}
	s := g.sources[src]
	if s == nil {
		s = new(source)
		g.sources[src] = s
	}
	if g.inFlight < maxHandshakes && s.inFlight < maxHandshakesPerSource && len(s.queue) == 0 {
		g.take(s)
		return true, nil
	}
	if g.waiting == maxWaiting {
		victim := g.longestQueue()
		v := g.sources[victim]
		if len(v.queue) <= len(s.queue)+1 {
			// conn's source waits as much as any other, or about.
			g.forget(src, s)
			return false, conn
		}
		closed = v.queue[len(v.queue)-1].conn
		v.queue[len(v.queue)-1] = waiter{}
		v.queue = v.queue[:len(v.queue)-1]
		g.waiting--
	}
	if len(s.queue) == 0 {
		g.turns = append(g.turns, src)
	}
	s.queue = append(s.queue, waiter{conn, now.Add(timeout)})
	g.waiting++
	if g.waiting == 1 {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
	return false, closed
}

// take gives a slot to a handshake of s. g.mu must be held.
func (g *gate) take(s *source) {
	g.inFlight++
	s.inFlight++
	g.peak = max(g.peak, g.inFlight)
	g.peakFrom = max(g.peakFrom, s.inFlight)
}

// forget drops s, the share of src, once it holds nothing. g.mu must be
// held.
func (g *gate) forget(src netip.Prefix, s *source) {
	if s.inFlight == 0 && len(s.queue) == 0 {
		delete(g.sources, src)
	}
}

// longestQueue returns the source with the most connections waiting, the
// earliest in turn of those with as many. g.mu must be held, and some
// connection waiting.
func (g *gate) longestQueue() netip.Prefix {
	best, most := netip.Prefix{}, 0
	for _, src := range g.turns {
		if n := len(g.sources[src].queue); n > most {
			best, most = src, n
		}
	}
	return best
}

// leave frees the slot that a handshake from conn's source held, and
// returns the waiting connection that takes it, to be served, if any, and
// the waiters found expired on the way, to be closed.
func (g *gate) leave(conn net.Conn, now time.Time) (next net.Conn, expired []net.Conn) {
	src := sourceOf(conn)
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.sources[src]
	g.inFlight--
	s.inFlight--
	g.forget(src, s)
	// Serve the first source in turn that may start one more, and move it
	// to the back of the turns.
	for i := 0; i < len(g.turns); {
		src := g.turns[i]
		s := g.sources[src]
		if s.inFlight >= maxHandshakesPerSource {
			i++
			continue
		}
		for len(s.queue) > 0 && !now.Before(s.queue[0].expires) {
			expired = append(expired, s.queue[0].conn)
			g.pop(s)
		}
		g.turns = append(g.turns[:i], g.turns[i+1:]...)
		if len(s.queue) == 0 {
			g.forget(src, s)
			continue
		}
		next = s.queue[0].conn
		g.pop(s)
		g.take(s)
		if len(s.queue) > 0 {
			g.turns = append(g.turns, src)
		}
		return next, expired
	}
	return nil, expired
}

// pop removes the first waiter of s. g.mu must be held.
func (g *gate) pop(s *source) {
	s.queue[0] = waiter{}
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = nil
	}
	g.waiting--
}

// expire removes the waiters whose time is up at now and returns them, and
// when the next one's is.
func (g *gate) expire(now time.Time) (expired []net.Conn, next time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	turns := g.turns[:0]
	for _, src := range g.turns {
		s := g.sources[src]
		for len(s.queue) > 0 && !now.Before(s.queue[0].expires) {
			expired = append(expired, s.queue[0].conn)
			g.pop(s)
		}
		if len(s.queue) == 0 {
			g.forget(src, s)
			continue
		}
		turns = append(turns, src)
		if next.IsZero() || s.queue[0].expires.Before(next) {
			next = s.queue[0].expires
		}
	}
	clear(g.turns[len(turns):])
	g.turns = turns
	return expired, next
}

// close closes the gate: it returns every waiting connection, to be
// closed, and starts no other.
func (g *gate) close() []net.Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	var all []net.Conn
	for _, src := range g.turns {
		s := g.sources[src]
		for _, w := range s.queue {
			all = append(all, w.conn)
		}
		s.queue = nil
		g.forget(src, s)
	}
	g.turns, g.waiting = nil, 0
	return all
}

// turnAway counts a connection turned away at now, and reports how many
// were since the last warning if it is time for another, once a minute at
// most (busyWarnings).
func (g *gate) turnAway(now time.Time) (count int, warn bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.turnedAway++
	if !g.warned.IsZero() && now.Sub(g.warned) < busyWarnings {
		return 0, false
	}
	count, g.turnedAway, g.warned = g.turnedAway, 0, now
	return count, true
}

// busyWarnings is how often at most the node warns that it turns
// connections away.
const busyWarnings = time.Minute
