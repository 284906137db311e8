package mem

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/peerweave/peerweave/transport"
)

// BufferSize is how many bytes each direction of a connection buffers: what
// one end has written and the other not yet read, as the send and receive
// buffers of a TCP socket on loopback hold. A Write returns once its bytes
// are buffered and blocks only while the buffer is full. The buffer grows
// as it fills, up to this size, so an idle connection holds little memory.
const BufferSize = 256 << 10

// minBuffer is the size a direction's buffer starts at, on its first Write:
// as small as a handshake, since a mesh of hundreds of nodes in one process
// holds tens of thousands of connections.
const minBuffer = 512

// errPeerClosed is the error of a Write to a connection whose other end has
// closed, as a socket reports a broken pipe.
var errPeerClosed = fmt.Errorf("mem: write to a connection the peer closed: %w", syscall.EPIPE)

// errWriteClosed is the error of a Write after CloseWrite, as a socket
// reports a broken pipe once its sending side is shut down.
var errWriteClosed = fmt.Errorf("mem: write after CloseWrite: %w", syscall.EPIPE)

// newConnPair returns the two ends of a new connection between the
// addresses a and b.
func newConnPair(a, b net.Addr) (atA, atB *conn) {
	ab, ba := newPipe(), newPipe()
	return &conn{rx: ba, tx: ab, local: a, remote: b}, &conn{rx: ab, tx: ba, local: b, remote: a}
}

// A connection tells how much the other end has yet to read, and can close
// its writing side alone.
var (
	_ transport.Unacked    = (*conn)(nil)
	_ transport.HalfCloser = (*conn)(nil)
)

// conn is one end of a connection: it reads from one pipe and writes to the
// other, which the other end reads.
type conn struct {
	rx, tx        *pipe
	closed        atomic.Bool // Close was called at this end
	local, remote net.Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// Read returns what the other end has written, waiting while nothing is
// buffered. Once the other end has closed and everything it wrote is read,
// Read returns io.EOF.
func (c *conn) Read(b []byte) (int, error) {
	p := c.rx
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.readerClosed:
			return 0, net.ErrClosed
		case p.readDeadline.expired:
			return 0, os.ErrDeadlineExceeded
		case p.n > 0:
			n := p.take(b)
			if p.n == 0 && p.writerClosed {
				p.buf = nil // nothing more will come
			}
			p.writable.Broadcast()
			return n, nil
		case p.writerClosed:
			return 0, io.EOF
		case len(b) == 0:
			return 0, nil
		}
		p.readable.Wait()
	}
}

// Write buffers b for the other end, waiting while the buffer is full. A
// Write cut short by its deadline or a Close returns how much it buffered,
// which the other end will read. Writes at once take turns, so that each
// one's bytes arrive together, as with every net.Conn of the standard
// library; one that waits for its turn heeds the deadline and Close too.
//
// Every wait is on a sync.Cond, with no lock held, so that a Write blocked
// in a testing/synctest bubble lets the bubble's clock advance.
func (c *conn) Write(b []byte) (int, error) {
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.writing {
		if err := p.writeErr(c); err != nil {
			return 0, err
		}
		p.writable.Wait()
	}
	p.writing = true
	defer func() {
		p.writing = false
		p.writable.Broadcast() // the next Write's turn
	}()
	written := 0
	for {
		if err := p.writeErr(c); err != nil {
			return written, err
		}
		if k := p.put(b[written:]); k > 0 {
			written += k
			p.readable.Broadcast()
		}
		if written == len(b) {
			return written, nil
		}
		p.writable.Wait()
	}
}

// writeErr returns why a Write at c, the writing end of p, cannot go on,
// or nil. p.mu must be held.
func (p *pipe) writeErr(c *conn) error {
	switch {
	case c.closed.Load():
		return net.ErrClosed
	case p.writerClosed:
		return errWriteClosed
	case p.writeDeadline.expired:
		return os.ErrDeadlineExceeded
	case p.readerClosed:
		return errPeerClosed
	}
	return nil
}

// CloseWrite closes the writing side of this end alone, as a TCP
// connection's CloseWrite does: the other end reads everything written
// before it, then io.EOF, and can still write to this end, which can still
// read. A Write waiting at this end returns with the count of what it
// buffered; later Writes fail with an error matching syscall.EPIPE.
// CloseWrite implements transport.HalfCloser.
func (c *conn) CloseWrite() error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.tx.closeWriter()
	return nil
}

// Unacked returns how many bytes this end wrote that the other end has not
// read yet. A connection of this package has no network between its ends:
// the buffer of each direction is both the writer's send buffer and the
// reader's receive buffer, and the other end's Read is what takes bytes out
// of it. So the count falls as the other end reads and stands still while
// it does not, as a TCP socket's send queue does while the peer's receive
// window is closed. Unacked implements transport.Unacked.
func (c *conn) Unacked() (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n, nil
}

// Close closes both directions at this end and unblocks its Reads and
// Writes and those of the other end. What this end wrote stays readable at
// the other; what it had not read is dropped, and the other end's Writes
// fail. Closing again does nothing.
func (c *conn) Close() error {
	c.closed.Store(true)
	rx := c.rx
	rx.mu.Lock()
	rx.readerClosed = true
	rx.buf, rx.head, rx.n = nil, 0, 0
	rx.readDeadline.stop()
	rx.readable.Broadcast()
	rx.writable.Broadcast()
	rx.mu.Unlock()

	c.tx.closeWriter()
	c.tx.mu.Lock()
	c.tx.writeDeadline.stop()
	c.tx.mu.Unlock()
	return nil
}

// closeWriter ends what the writing end sends: the reader drains the
// buffer, then reads io.EOF.
func (p *pipe) closeWriter() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writerClosed = true
	if p.n == 0 {
		p.buf, p.head = nil, 0
	}
	p.readable.Broadcast()
	p.writable.Broadcast()
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline of Reads, including one that waits.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	p := c.rx
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setDeadline(&p.readDeadline, &p.readable, t)
	return nil
}

// SetWriteDeadline sets the deadline of Writes, including one that waits.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setDeadline(&p.writeDeadline, &p.writable, t)
	return nil
}

// pipe is one direction of a connection: a bounded buffer of the bytes one
// end wrote and the other has not read, and what either end waits for.
type pipe struct {
	mu sync.Mutex
	// readable wakes the reader: bytes arrived, an end closed, or the
	// read deadline passed. writable wakes the writer likewise, for room.
	readable, writable sync.Cond

	buf  []byte // ring buffer, grown up to BufferSize
	head int    // where the next Read starts in buf
	n    int    // bytes buffered from head on, wrapping around

	readerClosed bool // the reading end closed: buf is dropped, Writes fail
	writerClosed bool // the writing end closed: Reads drain buf, then io.EOF
	writing      bool // a Write is under way; others wait for their turn

	readDeadline, writeDeadline deadline
}

func newPipe() *pipe {
	p := &pipe{}
	p.readable.L = &p.mu
	p.writable.L = &p.mu
	return p
}

// put copies as much of b into the buffer as fits, growing the buffer if it
// may, and returns how many bytes it copied. p.mu must be held.
func (p *pipe) put(b []byte) int {
	if len(p.buf)-p.n < len(b) && len(p.buf) < BufferSize {
		p.grow(p.n + len(b))
	}
	k := min(len(b), len(p.buf)-p.n)
	if k == 0 {
		return 0
	}
	tail := p.head + p.n
	if tail >= len(p.buf) {
		tail -= len(p.buf)
	}
	m := copy(p.buf[tail:], b[:k])
	copy(p.buf, b[m:k]) // what wraps around
	p.n += k
	return k
}

// take copies as much of the buffer into b as fits, and returns how many
// bytes it copied. p.mu must be held.
func (p *pipe) take(b []byte) int {
	k := min(len(b), p.n)
	m := copy(b[:k], p.buf[p.head:])
	copy(b[m:k], p.buf) // what wraps around
	p.n -= k
	if p.n == 0 {
		p.head = 0 // later Writes copy in one piece
	} else if p.head += k; p.head >= len(p.buf) {
		p.head -= len(p.buf)
	}
	return k
}

// grow makes the buffer large enough for need bytes, or BufferSize,
// doubling it. p.mu must be held.
func (p *pipe) grow(need int) {
	size := max(len(p.buf), minBuffer)
	for size < need && size < BufferSize {
		size *= 2
	}
	size = min(size, BufferSize)
	if size == len(p.buf) {
		return
	}
	buf := make([]byte, size)
	m := copy(buf, p.buf[p.head:min(p.head+p.n, len(p.buf))])
	copy(buf[m:], p.buf[:p.n-m])
	p.buf, p.head = buf, 0
}

// deadline is the deadline of one end's Reads or Writes. Its fields are
// guarded by the mu of the pipe it belongs to.
type deadline struct {
	at      time.Time // zero for none
	expired bool      // at has passed
	timer   *time.Timer
	// armed is when the timer fires, or zero if it is not pending. A
	// deadline moved later, as a node does on every Read and Write, leaves
	// the timer be: when it fires it sets itself again for the new time.
	armed time.Time
}

// setDeadline sets d to at and wakes whoever waits on cond if it has
// passed. p.mu must be held.
func (p *pipe) setDeadline(d *deadline, cond *sync.Cond, at time.Time) {
	d.at = at
	if at.IsZero() {
		d.expired = false
		return // a pending timer finds no deadline when it fires
	}
	now := time.Now()
	if !now.Before(at) {
		d.expired = true
		cond.Broadcast()
		return
	}
	d.expired = false
	if !d.armed.IsZero() && !d.armed.After(at) {
		return
	}
	d.armed = at
	if d.timer == nil {
		d.timer = time.AfterFunc(at.Sub(now), func() { p.fire(d, cond) })
	} else {
		d.timer.Reset(at.Sub(now))
	}
}

// fire runs when d's timer does: it marks the deadline passed and wakes
// whoever waits on cond, or sets the timer again if the deadline moved.
func (p *pipe) fire(d *deadline, cond *sync.Cond) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d.armed = time.Time{}
	if d.at.IsZero() || d.expired {
		return
	}
	if now := time.Now(); now.Before(d.at) {
		d.armed = d.at
		d.timer.Reset(d.at.Sub(now))
		return
	}
	d.expired = true
	cond.Broadcast()
}

// stop clears d for good, when its end closes, so that its timer does not
// keep the pipe in memory. The pipe's mu must be held.
func (d *deadline) stop() {
	d.at, d.expired, d.armed = time.Time{}, false, time.Time{}
	if d.timer != nil {
		d.timer.Stop()
	}
}
