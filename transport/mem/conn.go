package mem

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
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

// newConnPair returns the two ends of a new connection between the
// addresses a and b.
func newConnPair(a, b net.Addr) (atA, atB *conn) {
	ab, ba := newPipe(), newPipe()
	return &conn{rx: ba, tx: ab, local: a, remote: b}, &conn{rx: ab, tx: ba, local: b, remote: a}
}

// conn is one end of a connection: it reads from one pipe and writes to the
// other, which the other end reads.
type conn struct {
	rx, tx *pipe
	// wmu makes each Write's bytes arrive together, as every net.Conn of
	// the standard library does, when a Write waits for room.
	wmu           sync.Mutex
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
// which the other end will read.
func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	written := 0
	for {
		switch {
		case p.writerClosed:
			return written, net.ErrClosed
		case p.writeDeadline.expired:
			return written, os.ErrDeadlineExceeded
		case p.readerClosed:
			return written, errPeerClosed
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

// Close closes both directions at this end and unblocks its Reads and
// Writes and those of the other end. What this end wrote stays readable at
// the other; what it had not read is dropped, and the other end's Writes
// fail. Closing again does nothing.
func (c *conn) Close() error {
	rx := c.rx
	rx.mu.Lock()
	rx.readerClosed = true
	rx.buf, rx.head, rx.n = nil, 0, 0
	rx.readDeadline.stop()
	rx.readable.Broadcast()
	rx.writable.Broadcast()
	rx.mu.Unlock()

	tx := c.tx
	tx.mu.Lock()
	tx.writerClosed = true
	if tx.n == 0 {
		tx.buf, tx.head = nil, 0
	}
	tx.writeDeadline.stop()
	tx.readable.Broadcast()
	tx.writable.Broadcast()
	tx.mu.Unlock()
	return nil
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline of Reads, including one that waits.
func (c *conn) SetReadDeadline(t time.Time) error {
	p := c.rx
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.readerClosed {
		return net.ErrClosed
	}
	p.setDeadline(&p.readDeadline, &p.readable, t)
	return nil
}

// SetWriteDeadline sets the deadline of Writes, including one that waits.
func (c *conn) SetWriteDeadline(t time.Time) error {
	p := c.tx
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.writerClosed {
		return net.ErrClosed
	}
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
