package fault

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/peerweave/peerweave/transport"
)

// ending is how far the dialler has ended its stream: the link carries the
// end to the acceptor after the bytes before it, and a fault that stops
// the way out holds it back, as a black hole swallows a FIN.
type ending int

const (
	endNone  ending = iota
	endWrite        // CloseWrite: the acceptor reads io.EOF and can still send
	endAll          // Close: the inner connection closes
)

// errHalfClosed ends a shaped way out at CloseWrite, after its bytes.
var errHalfClosed = errors.New("fault: half-closed")

// past is a deadline that has passed, to unblock a call on the inner
// connection.
var past = time.Unix(1, 0)

// Close closes the dialler's end at once: its calls return net.ErrClosed.
// The link still carries the end of the stream to the acceptor after what
// it holds (see Network.Shape), and a black hole or cut on the way out
// holds the end back until Heal, as it holds data: the acceptor sees
// nothing while the fault lasts.
func (c *conn) Close() error { return c.close(false) }

// CloseWrite closes the writing side of the dialler's end alone, as TCP's
// does: the acceptor reads everything written before, then io.EOF, and can
// still send, which the dialler reads. A fault on the way out holds the
// end back as Close's. Writes at this end fail from then on with an error
// matching syscall.EPIPE. It implements transport.HalfCloser, and fails
// with errors.ErrUnsupported over an inner connection without it.
func (c *conn) CloseWrite() error {
	if _, ok := c.Conn.(transport.HalfCloser); !ok {
		return fmt.Errorf("fault: %T cannot close its writing side alone: %w", c.Conn, errors.ErrUnsupported)
	}
	if c.isClosed() {
		return net.ErrClosed
	}
	first := false
	var out *wire
	c.shutOnce.Do(func() {
		first = true
		// Under nw.mu, so that no Write makes the outbound wire meanwhile.
		c.nw.mu.Lock()
		close(c.shut)
		out = c.out.Load()
		c.nw.mu.Unlock()
	})
	switch {
	case !first:
	case out != nil:
		out.finish(errHalfClosed, time.Now(), 0) // the sending goroutine ends the stream
	default:
		c.endStream(endWrite)
	}
	return nil
}

// close closes the connection. What a shaped link holds still goes out, as
// a socket sends what it buffered, unless abort: then it is dropped, and
// the inner connection closed at once, fault or not, as after a reset.
func (c *conn) close(abort bool) error {
	c.closeOnce.Do(func() {
		c.nw.mu.Lock()
		close(c.closed)
		out := c.out.Load()
		c.nw.mu.Unlock()
		c.mu.Lock()
		c.done = true
		c.mu.Unlock()
		if abort {
			return
		}
		// The calls waiting on the inner connection return; the end of the
		// stream follows what the link holds.
		c.Conn.SetReadDeadline(past)
		if out == nil {
			c.Conn.SetWriteDeadline(past)
			c.endStream(endAll)
			return
		}
		// The sending goroutine ends the stream once the link delivered
		// what it holds, or gave up.
		c.Conn.SetWriteDeadline(out.finish(net.ErrClosed, time.Now(), linger))
	})
	if !abort {
		return nil
	}
	var err error
	c.abortOnce.Do(func() {
		c.nw.mu.Lock()
		close(c.aborted)
		delete(c.nw.conns, c)
		c.nw.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// endStream ends the dialler's stream on the inner connection, half or
// all, unless a fault stops the way out: then the end waits in nw for the
// link to heal (see Network.update).
func (c *conn) endStream(e ending) {
	nw := c.nw
	nw.mu.Lock()
	select {
	case <-c.aborted:
		nw.mu.Unlock()
		return // the inner connection is closed
	default:
	}
	if nw.blockedLocked(c.link, outbound) {
		c.ending = max(c.ending, e)
		nw.conns[c] = struct{}{}
		nw.mu.Unlock()
		return
	}
	if e == endAll {
		delete(nw.conns, c)
	}
	nw.mu.Unlock()
	c.endInner(e)
}

// endInner ends the dialler's stream on the inner connection.
func (c *conn) endInner(e ending) {
	if e == endAll {
		c.Conn.Close()
		return
	}
	if hc, ok := c.Conn.(transport.HalfCloser); ok {
		hc.CloseWrite()
	}
}

// heldEnd is an end of a stream that a fault held back.
type heldEnd struct {
	c *conn
	e ending
}

// healedLocked returns the ends of streams that no fault holds back any
// more, and forgets them. nw.mu must be held.
func (nw *Network) healedLocked() []heldEnd {
	var ends []heldEnd
	for c := range nw.conns {
		if c.ending == endNone || nw.blockedLocked(c.link, outbound) {
			continue
		}
		ends = append(ends, heldEnd{c, c.ending})
		if c.ending == endAll {
			delete(nw.conns, c)
		}
		c.ending = endNone
	}
	return ends
}
