package link

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/transport"
)

// A link is stalled only when nothing written to it has been taken by the
// network for the network timeout, however long one Write call blocks: Linux
// wakes a writer blocked on a full send buffer only once about a third of it
// has drained, which on a slow link can take longer than the timeout while
// the kernel is acknowledging bytes the whole time.
//
// writeLink therefore judges a write by the count of unacknowledged bytes
// (transport.Unacked) as well as by its own progress, in one of two ways.
// Most connections survive a write deadline: writeLink gives each write half
// a timeout, and on each expiry looks at the count; the link is stalled
// once neither the write nor the count moved for a whole timeout. A write
// that does not block costs what a plain Write does, which keeps round trips
// near the wire's. A TLS connection is broken for good by a write deadline
// that passes, so there writeLink watches the count while the write waits,
// each half timeout, and moves the deadline out while it changes; the
// deadline passes only on a stalled link. A connection without Unacked is
// judged by the progress of its writes alone.

// writeLink writes b to conn, failing with a timeout only once the link
// has made no progress for timeout.
func writeLink(conn net.Conn, b []byte, timeout time.Duration) error {
	if _, fragile := conn.(interface{ ConnectionState() tls.ConnectionState }); fragile {
		return writeWatched(conn, b, timeout)
	}
	u, _ := conn.(transport.Unacked)
	step := timeout / 2
	last, quiet := int64(-1), time.Duration(0)
	for {
		deadline := time.Now().Add(step)
		conn.SetWriteDeadline(deadline)
		n, err := conn.Write(b)
		b = b[n:]
		if err == nil || !IsTimeout(err) {
			return err
		}
		if len(b) == 0 {
			return nil // the deadline passed as the last byte went
		}
		if time.Now().Before(deadline) {
			return err // not our deadline: the connection cannot write again
		}
		count := unackedOf(u)
		if n > 0 || (count >= 0 && last >= 0 && count != last) {
			quiet = 0
		} else if quiet += step; quiet >= timeout {
			return err
		}
		last = count
	}
}

// unackedOf returns u's count of unacknowledged bytes, or -1 if u is nil or
// cannot tell.
func unackedOf(u transport.Unacked) int64 {
	if u == nil {
		return -1
	}
	n, err := u.Unacked()
	if err != nil {
		return -1
	}
	return int64(n)
}

// writeWatched is writeLink for a connection that a passed write deadline
// breaks for good: it moves the deadline out while the link takes bytes.
func writeWatched(conn net.Conn, b []byte, timeout time.Duration) error {
	w := newProgress(conn, timeout)
	for {
		deadline := time.Now().Add(timeout)
		conn.SetWriteDeadline(deadline)
		w.watch()
		n, err := conn.Write(b)
		w.stop()
		b = b[n:]
		if err == nil || !IsTimeout(err) {
			return err
		}
		if len(b) == 0 {
			return nil // the deadline passed as the last byte went
		}
		if time.Now().Before(deadline) {
			// Not our deadline: a connection that cannot write after a
			// timeout (tls.Conn) repeats its last error.
			return err
		}
		if n == 0 && !w.moved() {
			return err
		}
	}
}

// progress watches the unacknowledged bytes of one connection during a
// write.
type progress struct {
	conn    net.Conn
	u       transport.Unacked // nil if the connection cannot tell
	timeout time.Duration
	last    atomic.Int64 // the count last seen; -1 when unknown

	mu      sync.Mutex // guards t and stopped, never held over I/O
	t       *time.Timer
	stopped bool
}

// newProgress starts watching conn's unacknowledged bytes.
func newProgress(conn net.Conn, timeout time.Duration) *progress {
	w := &progress{conn: conn, timeout: timeout}
	w.u, _ = conn.(transport.Unacked)
	w.last.Store(w.unacked())
	return w
}

// unacked returns the connection's unacknowledged bytes, or -1.
func (w *progress) unacked() int64 { return unackedOf(w.u) }

// moved reports whether the count changed since the last look: the
// network took bytes, or the kernel took more of ours.
func (w *progress) moved() bool {
	n := w.unacked()
	return n >= 0 && w.last.Swap(n) != n
}

// watch starts looking at the count each half timeout until stop, if the
// connection has one.
func (w *progress) watch() {
	if w.last.Load() < 0 {
		return
	}
	w.mu.Lock()
	w.stopped = false
	w.t = time.AfterFunc(w.timeout/2, w.look)
	w.mu.Unlock()
}

// look moves the write deadline a timeout ahead if the count changed.
func (w *progress) look() {
	if w.moved() {
		w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	w.mu.Lock()
	if !w.stopped {
		w.t.Reset(w.timeout / 2)
	}
	w.mu.Unlock()
}

// stop ends the watch. A look under way may still move the deadline, which
// the next write sets afresh.
func (w *progress) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.t != nil {
		w.t.Stop()
	}
	w.mu.Unlock()
}

// IsTimeout reports whether err is a deadline that passed, as a transport
// reports it.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
