package fault

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/peerweave/peerweave/transport"
)

// A dialler's end tells how much of what it wrote the link has yet to
// deliver, and can close its writing side alone.
var (
	_ transport.Unacked    = (*conn)(nil)
	_ transport.HalfCloser = (*conn)(nil)
)

// errWriteClosed is the error of a Write after CloseWrite, as a socket
// reports a broken pipe once its sending side is shut down.
var errWriteClosed = fmt.Errorf("fault: write after CloseWrite: %w", syscall.EPIPE)

// conn is the dialler's end of a connection, where faults are applied: what
// the dialler writes waits before it goes out, what it reads waits after it
// came in. A shaped direction goes through a wire: the dialler's writes go
// into one that a goroutine empties into the inner connection, and a
// goroutine fills one from the inner connection for the dialler's reads.
//
// Every wait is on a channel or a timer, never on a lock, so that a conn
// over a transport that waits the same way (transport/mem) works inside a
// testing/synctest bubble.
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

	// rsem serialises reads, as a socket does, and guards held, heldErr
	// and heldAt.
	rsem    chan struct{}
	held    []byte    // read from the connection, not yet let through
	heldErr error     // how the stream ended, once held is empty
	heldAt  time.Time // when held or heldErr came in

	wsem chan struct{} // serialises writes, as a socket does

	// The wires of the shaped directions, set under nw.mu once a direction
	// is first shaped and kept from then on.
	out, in atomic.Pointer[wire]

	// ending is the end of the dialler's stream that a fault holds back
	// until the link heals; guarded by nw.mu.
	ending ending

	shutOnce  sync.Once
	shut      chan struct{} // closed by CloseWrite
	closeOnce sync.Once
	closed    chan struct{}
	abortOnce sync.Once
	aborted   chan struct{} // closed when the connection breaks
}

func newConn(nw *Network, inner net.Conn, l link) *conn {
	return &conn{
		Conn: inner, nw: nw, link: l,
		moved: make(chan struct{}),
		rsem:  make(chan struct{}, 1), wsem: make(chan struct{}, 1),
		shut: make(chan struct{}), closed: make(chan struct{}), aborted: make(chan struct{}),
	}
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
// gives up when the connection closes, or outbound when it half-closes.
func (c *conn) pass(d direction, since time.Time) error {
	for {
		r, changed := c.nw.state(c.link)
		deadline, moved := c.deadline(d)
		expired := expired(deadline)
		var err error
		switch {
		case (d == outbound && r.send) || (d == inbound && r.recv):
			if expired {
				return os.ErrDeadlineExceeded
			}
			err = c.sleep(d, deadline, changed, moved)
		case time.Now().Before(since.Add(r.delay)):
			err = c.sleep(d, since.Add(r.delay), changed, nil)
		case expired:
			return os.ErrDeadlineExceeded
		default:
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// sleep waits until the time until (if not zero), a change of the rules or of
// the deadlines, and returns net.ErrClosed if the connection closed first,
// or, for outbound, errWriteClosed if it half-closed.
func (c *conn) sleep(d direction, until time.Time, changed, moved <-chan struct{}) error {
	var timer <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timer = t.C
	}
	var shut <-chan struct{}
	if d == outbound {
		shut = c.shut
	}
	select {
	case <-changed:
	case <-moved:
	case <-timer:
	case <-c.closed:
		return net.ErrClosed
	case <-shut:
		return errWriteClosed
	}
	return nil
}

// Read reads what the acceptor wrote, once the faults let it through. The
// end of the stream waits like data: while a fault holds back what the
// dialler receives, the acceptor's Close or CloseWrite does not reach it.
func (c *conn) Read(b []byte) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed // the inner connection may wait for Heal
	}
	if err := c.lock(inbound, c.rsem); err != nil {
		return 0, err
	}
	defer func() { <-c.rsem }()
	if len(c.held) == 0 && c.heldErr == nil {
		n, at, err := c.fill(b)
		switch {
		case n > 0:
			c.held = append(c.held[:0], b[:n]...)
		case err == nil || c.isClosed() || errors.Is(err, os.ErrDeadlineExceeded):
			return 0, err
		default:
			c.heldErr = err // the stream ended: that too takes the link
		}
		c.heldAt = at
	}
	if err := c.pass(inbound, c.heldAt); err != nil {
		return 0, err
	}
	if len(c.held) == 0 {
		return 0, c.heldErr
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

// Write writes b once the faults let it through, into the link's send
// buffer if the way out is shaped.
func (c *conn) Write(b []byte) (int, error) {
	switch {
	case c.isClosed():
		return 0, net.ErrClosed // the inner connection may wait for Heal
	case c.isShut():
		return 0, errWriteClosed
	}
	if err := c.pass(outbound, time.Now()); err != nil {
		return 0, err
	}
	if err := c.lock(outbound, c.wsem); err != nil {
		return 0, err
	}
	defer func() { <-c.wsem }()
	w := c.out.Load()
	if w == nil && c.nw.shaping.Load() {
		w = c.shape(outbound, nil, time.Time{})
	}
	if w != nil {
		return c.putOut(w, b)
	}
	n, err := c.Conn.Write(b)
	if err != nil && c.isClosed() {
		err = net.ErrClosed // Close cut the inner write short
	}
	return n, err
}

// Unacked returns how many bytes written at this end the link has not yet
// delivered to the acceptor's end: on a shaped way out, those in the link's
// send buffer, waiting to leave or on the way (see Link); on an unshaped
// one, the inner connection's count, if it keeps one. It implements
// transport.Unacked, and fails with errors.ErrUnsupported over an inner
// connection without it.
func (c *conn) Unacked() (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	if w := c.out.Load(); w != nil {
		return w.unacked(time.Now()), nil
	}
	if u, ok := c.Conn.(transport.Unacked); ok {
		return u.Unacked()
	}
	return 0, fmt.Errorf("fault: %T does not count unacknowledged bytes: %w", c.Conn, errors.ErrUnsupported)
}

// lock takes sem, which serialises the calls of direction d, waiting for
// the call before to finish, or the deadline of d, or the end of the
// connection.
func (c *conn) lock(d direction, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	var shut <-chan struct{}
	if d == outbound {
		shut = c.shut
	}
	for {
		deadline, moved := c.deadline(d)
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
		case sem <- struct{}{}:
			locked = true
		case <-moved:
		case <-fired:
		case <-c.closed:
			err = net.ErrClosed
		case <-shut:
			err = errWriteClosed
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

func (c *conn) isShut() bool {
	select {
	case <-c.shut:
		return true
	default:
		return false
	}
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
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
