package quic

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"
)

// conn is a net.Conn over a QUIC connection's one stream.
//
// Close ends the stream and leaves the rest to finish, as the package doc
// says. Each end, when it reads the other's end of stream, acknowledges it
// by opening and closing an empty unidirectional stream; a closed conn
// closes the connection once it has both read the peer's end of stream and
// had its own acknowledged, or once the linger time has passed.
type conn struct {
	qc     *quicgo.Conn
	st     *quicgo.Stream
	ep     *endpoint // released when the connection is finished
	linger time.Duration

	mu     sync.Mutex // guards the fields below and the stream's deadlines
	closed bool
	busy   int       // Reads and Writes in progress
	idle   sync.Cond // broadcast when busy drops to zero after Close

	ackOnce sync.Once // acknowledges the peer's end of stream
}

func newConn(qc *quicgo.Conn, st *quicgo.Stream, ep *endpoint, linger time.Duration) *conn {
	c := &conn{qc: qc, st: st, ep: ep, linger: linger}
	c.idle.L = &c.mu
	return c
}

// enter starts a Read or Write, unless the conn is closed.
func (c *conn) enter() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.busy++
	return nil
}

// leave ends a Read or Write. It turns its error into net.ErrClosed if
// Close interrupted it, and a deadline error into os.ErrDeadlineExceeded
// ("i/o timeout"), as the net package's conns report it.
func (c *conn) leave(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy--
	if !c.closed {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return os.ErrDeadlineExceeded
		}
		return err
	}
	if c.busy == 0 {
		c.idle.Broadcast()
	}
	if err != nil && err != io.EOF {
		return net.ErrClosed
	}
	return err
}

func (c *conn) Read(b []byte) (int, error) {
	if err := c.enter(); err != nil {
		return 0, err
	}
	n, err := c.st.Read(b)
	if err == io.EOF {
		c.ackEOF()
	}
	return n, c.leave(err)
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.enter(); err != nil {
		return 0, err
	}
	n, err := c.st.Write(b)
	return n, c.leave(err)
}

// ackEOF tells the peer, once, that we have read its end of stream, so
// everything it sent.
func (c *conn) ackEOF() {
	c.ackOnce.Do(func() {
		if s, err := c.qc.OpenUniStream(); err == nil {
			s.Close()
		}
	})
}

// Close ends the stream after what was written and unblocks Read and Write.
// The connection closes in the background; see conn.
func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	c.st.SetDeadline(time.Unix(1, 0))
	go c.finish()
	return nil
}

// finish delivers what is left both ways, within the linger time, then
// closes the connection and lets go of the socket.
func (c *conn) finish() {
	defer c.ep.release()
	c.mu.Lock()
	for c.busy > 0 {
		c.idle.Wait()
	}
	c.mu.Unlock()
	deadline := time.Now().Add(c.linger)
	c.st.Close()
	c.st.SetReadDeadline(deadline)
	code := codeAbort
	if c.drain() && c.awaitAck(deadline) {
		code = codeDone
	}
	c.qc.CloseWithError(code, "")
}

// drain reads and discards what the peer still sends, up to its end of
// stream, and acknowledges that.
func (c *conn) drain() bool {
	if _, err := io.Copy(io.Discard, c.st); err != nil {
		return false
	}
	c.ackEOF()
	return true
}

// awaitAck waits until the peer acknowledges our end of stream, or closes
// the connection because it has everything.
func (c *conn) awaitAck(deadline time.Time) bool {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, err := c.qc.AcceptUniStream(ctx)
	var ae *quicgo.ApplicationError
	return err == nil || (errors.As(err, &ae) && ae.Remote && ae.ErrorCode == codeDone)
}

// abort closes a connection nobody has used, at once.
func (c *conn) abort() {
	c.qc.CloseWithError(codeAbort, "")
	c.ep.release()
}

func (c *conn) LocalAddr() net.Addr  { return c.qc.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

func (c *conn) SetDeadline(t time.Time) error {
	return c.setDeadline(func() { c.st.SetDeadline(t) })
}

func (c *conn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(func() { c.st.SetReadDeadline(t) })
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(func() { c.st.SetWriteDeadline(t) })
}

// setDeadline runs set unless the conn is closed: Close's deadlines must
// stay, to unblock Read and Write.
func (c *conn) setDeadline(set func()) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	set()
	return nil
}
