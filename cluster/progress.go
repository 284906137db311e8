package cluster

import (
	"net"
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
// writeLink therefore watches the connection's unacknowledged bytes
// (transport.Unacked) while a write waits: each half timeout that they
// changed, the write deadline moves a timeout ahead. When a deadline passes
// anyway, the write goes on with a fresh one if it made progress or the
// count changed since the last look; otherwise the link is stalled. A
// connection without Unacked is judged by the progress of its writes alone.

// writeLink writes b to conn, failing with a timeout only once the link
// has made no progress for timeout.
func writeLink(conn net.Conn, b []byte, timeout time.Duration) error {
	w := newProgress(conn, timeout)
	for {
		deadline := time.Now().Add(timeout)
		conn.SetWriteDeadline(deadline)
		w.watch()
		n, err := conn.Write(b)
		w.stop()
		b = b[n:]
		if err == nil || !isTimeout(err) {
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
func (w *progress) unacked() int64 {
	if w.u == nil {
		return -1
	}
	n, err := w.u.Unacked()
	if err != nil {
		return -1
	}
	return int64(n)
}

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
