package fault

import (
	"net"
	"os"
	"sync/atomic"
	"time"
)

// Shape gives the direction from node from to node to of every connection
// between them, existing and future, the link l: what from sends leaves at
// l's bandwidth and reaches to l's latency later. The other direction keeps
// its own shape; shaping both is two calls. A zero Link unshapes the
// direction: bytes pass at once, though a connection that was shaped keeps
// buffering as a socket does. A new shape applies at once to the bytes on
// the way: they arrive l's latency after they left, or at once if that
// passed, and those still waiting leave at l's bandwidth.
//
// Shapes are the links', not faults: Heal leaves them as they are (unshape
// with a zero Link, or ShapeAll). A black hole or a cut stops a shaped
// link, bytes on the way included, and Heal restarts it where it stopped.
// Delay still holds each write before it goes into the link.
//
// Closing a connection lets its links deliver what they hold, at their
// pace, before the peer reads the end of the stream; what they cannot
// deliver within a second beyond that (through a black hole, or to a peer
// that does not read) is dropped, though the end of the stream itself
// still waits for Heal while a fault stops the link. Break drops it all at
// once.
func (nw *Network) Shape(from, to string, l Link) {
	l.check()
	kf, kt := key(from), key(to)
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.shapes[link{kf, kt}] = l
	if l != (Link{}) {
		nw.shaping.Store(true)
	}
	nw.reshapeLocked()
}

// ShapeAll gives both directions of every connection through the network,
// existing and future, the link l, and forgets the shapes set by Shape.
// ShapeAll(Link{}) unshapes every link.
func (nw *Network) ShapeAll(l Link) {
	l.check()
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.shapes)
	nw.shape = l
	if l != (Link{}) {
		nw.shaping.Store(true)
	}
	nw.reshapeLocked()
}

// shapeLocked returns the shape of direction d of the connections of l.
// nw.mu must be held.
func (nw *Network) shapeLocked(l link, d direction) Link {
	from, to := l.from, l.to
	if d == inbound {
		from, to = to, from
	}
	if s, ok := nw.shapes[link{from, to}]; ok {
		return s
	}
	return nw.shape
}

// blockedLocked reports whether a fault stops direction d of l's
// connections. nw.mu must be held.
func (nw *Network) blockedLocked(l link, d direction) bool {
	r := nw.rules[l]
	return (d == outbound && r.send) || (d == inbound && r.recv)
}

// reshapeLocked gives the shaped directions of every connection their
// current shape. nw.mu must be held.
func (nw *Network) reshapeLocked() {
	now := time.Now()
	for c := range nw.conns {
		for _, d := range []direction{outbound, inbound} {
			if w := c.wireOf(d).Load(); w != nil {
				w.reshape(nw.shapeLocked(c.link, d), now)
			}
		}
	}
}

// stopLocked stops or restarts the shaped directions of every connection
// as the faults say. nw.mu must be held.
func (nw *Network) stopLocked() {
	now := time.Now()
	for c := range nw.conns {
		for _, d := range []direction{outbound, inbound} {
			if w := c.wireOf(d).Load(); w != nil {
				w.stop(nw.blockedLocked(c.link, d), now)
			}
		}
	}
}

const (
	sendChunk = 256 << 10 // the most the sending goroutine writes at once
	recvChunk = 64 << 10  // the most the receiving goroutine reads at once
)

// wireOf returns where the wire of direction d is kept.
func (c *conn) wireOf(d direction) *atomic.Pointer[wire] {
	if d == inbound {
		return &c.in
	}
	return &c.out
}

// shape returns the wire of direction d, after it puts first in, as bytes
// that came in at at. If d has none yet, shape makes it and starts the
// goroutine that carries its bytes, if d is shaped and c open; otherwise it
// returns nil. Only one read (inbound) or write (outbound) at a time may
// call it, so that none is on the way from the inner connection meanwhile.
func (c *conn) shape(d direction, first []byte, at time.Time) *wire {
	nw := c.nw
	nw.mu.Lock()
	defer nw.mu.Unlock()
	p := c.wireOf(d)
	w := p.Load()
	started := false
	if w == nil {
		if c.isClosed() || (d == outbound && c.isShut()) {
			return nil
		}
		l := nw.shapeLocked(c.link, d)
		if l == (Link{}) {
			return nil
		}
		w = newWire(l)
		w.stop(nw.blockedLocked(c.link, d), time.Now())
		// From now on the inner connection's deadline is the link's, which
		// has none; the conn's own deadlines bound the waits on the wire.
		c.mu.Lock()
		if d == inbound {
			c.shapedIn = true
			c.Conn.SetReadDeadline(time.Time{})
		} else {
			c.shapedOut = true
			c.Conn.SetWriteDeadline(time.Time{})
		}
		c.mu.Unlock()
		p.Store(w)
		started = true
	}
	if first != nil {
		w.put(first, at)
	}
	if started {
		if d == inbound {
			go c.receive(w)
		} else {
			go c.send(w)
		}
	}
	return w
}

// putOut puts b into the outbound wire, as the send buffer has room for
// it, until the write deadline. A write the deadline cuts short returns how
// much went in, all of which the link delivers. Once it filled the buffer,
// it waits for the wake-up room of the link (see wire.room).
func (c *conn) putOut(w *wire, b []byte) (int, error) {
	n := 0
	blocked := false
	for {
		if c.isClosed() {
			return n, net.ErrClosed
		}
		room, next, changed, err := w.room(time.Now(), blocked)
		if err == nil && room > 0 {
			k := min(room, len(b)-n)
			if err = w.put(b[n:n+k], time.Now()); err == nil {
				n += k
				if n == len(b) {
					return n, nil
				}
				blocked = true // the buffer is full
				continue
			}
		}
		if err != nil && c.isShut() {
			return n, errWriteClosed
		}
		if err != nil {
			return n, err
		}
		blocked = true
		deadline, moved := c.deadline(outbound)
		if expired(deadline) {
			return n, os.ErrDeadlineExceeded
		}
		if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
			next = deadline
		}
		if err := c.sleep(outbound, next, changed, moved); err != nil {
			return n, err
		}
	}
}

// takeIn takes into b what arrived on the inbound wire, waiting for it
// until the read deadline, and returns when it arrived.
func (c *conn) takeIn(w *wire, b []byte) (int, time.Time, error) {
	for {
		if c.isClosed() {
			return 0, time.Time{}, net.ErrClosed
		}
		deadline, moved := c.deadline(inbound)
		if expired(deadline) {
			return 0, time.Time{}, os.ErrDeadlineExceeded
		}
		if len(b) == 0 {
			return 0, time.Now(), nil
		}
		n, at, err, next, changed := w.take(b, time.Now())
		if n > 0 || err != nil {
			return n, at, err
		}
		if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
			next = deadline
		}
		if err := c.sleep(inbound, next, changed, moved); err != nil {
			return 0, time.Time{}, err
		}
	}
}

// send carries the outbound wire's bytes into the inner connection as they
// arrive, and ends the stream on it once the wire ends: after the bytes, or
// when the link gives up on them. It returns at once if c breaks.
func (c *conn) send(w *wire) {
	buf := make([]byte, sendChunk)
	for {
		n, _, err, next, changed := w.take(buf, time.Now())
		if n > 0 {
			if _, err := c.Conn.Write(buf[:n]); err != nil {
				w.fail(err)
				break
			}
			continue
		}
		if err != nil {
			if err == errHalfClosed {
				c.endStream(endWrite)
			}
			break
		}
		var timer *time.Timer
		var fired <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			fired = timer.C
		}
		aborted := false
		select {
		case <-changed:
		case <-fired:
		case <-c.aborted:
			aborted = true
		}
		if timer != nil {
			timer.Stop()
		}
		if aborted {
			return
		}
	}
	select {
	case <-c.closed:
		c.endStream(endAll)
	case <-c.aborted:
	}
}

// receive fills the inbound wire from the inner connection as soon as its
// send buffer has room, until the inner connection ends or c closes. The
// acceptor's writes go first into the inner connection's buffers, whose
// writer wakes at any room (see Link), so the acceptor's count of
// unacknowledged bytes, the inner connection's, falls as the link moves
// them.
func (c *conn) receive(w *wire) {
	buf := make([]byte, recvChunk)
	for {
		room, next, changed, err := w.room(time.Now(), false)
		if err != nil {
			return
		}
		if room == 0 {
			if !c.wait(next, changed) {
				return
			}
			continue
		}
		n, err := c.Conn.Read(buf[:min(room, len(buf))])
		now := time.Now()
		if n > 0 {
			w.put(buf[:n], now)
		}
		if err != nil {
			if !c.isClosed() {
				w.finish(err, now, 0)
			}
			return
		}
	}
}

// wait waits until next (if not zero) or a change, and reports false if c
// closed first.
func (c *conn) wait(next time.Time, changed <-chan struct{}) bool {
	var fired <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		fired = t.C
	}
	select {
	case <-changed:
	case <-fired:
	case <-c.closed:
		return false
	}
	return true
}
