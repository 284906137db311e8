package link

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A connection that a passed write deadline breaks for good (TLS) needs its
// deadline kept ahead of every write that makes progress, and let pass on a
// stalled one (see writeLink). A watcher and a timer per write would do it
// at the cost of both on every message; a link has one watchdog instead.
//
// The writer keeps the deadline at least a timeout ahead of each write it
// begins, moving it to one and a half timeouts ahead when it is due sooner
// (or, after the timeout shrank, later): once every half timeout of
// continuous writing. While a write is under way, the watchdog's timer
// looks every half timeout: if a write began since the last look, or the
// connection's unacknowledged bytes moved, the link made progress, and it
// moves the deadline to a timeout past the look. The deadline only moves
// out, so a write never finds it moved in under it; it passes once the
// link has taken nothing for between one and one and a half timeouts. The
// timer stops at the first look that finds no write under way, and the
// next write starts it again: an idle link costs no timer. Without a count
// of unacknowledged bytes there is nothing to look at, and the deadline
// the writer sets is the whole rule.

// watchdog keeps the write deadline of one connection that a passed
// deadline breaks for good. The link's writers use it one at a time.
type watchdog struct {
	conn  net.Conn
	count *progress // nil if the connection has no count to look at

	// The writer's, loaded by the looks: the writes begun, and whether
	// one is under way.
	began atomic.Uint64
	busy  atomic.Bool
	// due is when the write deadline set falls due, by monotonic, and
	// ticking whether the timer is armed or its look runs: both change
	// under mu, and the writer loads them without it.
	due     atomic.Int64
	ticking atomic.Bool

	mu      sync.Mutex // guards the fields below; held over SetWriteDeadline, which does not wait, so that deadlines are set in order
	t       *time.Timer
	timeout time.Duration // the network timeout as of the last write begun
	seen    uint64        // began, as of the last look
	stopped bool          // stop was called: the timer never starts again
	looks   sync.WaitGroup
}

// newWatchdog returns the watchdog of conn.
func newWatchdog(conn net.Conn) *watchdog {
	w := &watchdog{conn: conn}
	if p := newProgress(conn); p.last.Load() >= 0 {
		w.count = p
	}
	return w
}

// write writes b, failing once the link has taken nothing for timeout: a
// timeout is a stall, as the connection cannot write again after one.
func (w *watchdog) write(b []byte, timeout time.Duration) error {
	now := monotonic()
	w.began.Add(1)
	w.busy.Store(true) // before loading ticking: see look
	if due := w.due.Load(); due < now+int64(timeout) || due > now+int64(timeout*3/2) ||
		(w.count != nil && !w.ticking.Load()) {
		w.begin(now, timeout)
	}
	_, err := w.conn.Write(b)
	w.busy.Store(false)
	return err
}

// begin sets the deadline of a write that begins at now, if the one set
// does not fit it, and starts the timer if it does not tick.
func (w *watchdog) begin(now int64, timeout time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timeout = timeout
	if due := w.due.Load(); due < now+int64(timeout) || due > now+int64(timeout*3/2) {
		w.set(now + int64(timeout*3/2))
	}
	if w.count != nil && !w.ticking.Load() && !w.stopped {
		w.ticking.Store(true)
		w.arm()
	}
}

// arm has the timer look in half a timeout. w.mu must be held.
func (w *watchdog) arm() {
	w.looks.Add(1)
	if w.t == nil {
		w.t = time.AfterFunc(w.timeout/2, w.look)
	} else {
		w.t.Reset(w.timeout / 2)
	}
}

// set sets the write deadline to due, by monotonic. w.mu must be held.
func (w *watchdog) set(due int64) {
	w.due.Store(due)
	w.conn.SetWriteDeadline(timeAt(due))
}

// look moves the deadline out if the link made progress since the last
// look, and looks again in half a timeout while a write is under way.
func (w *watchdog) look() {
	defer w.looks.Done()
	moved := w.count.moved()
	now := monotonic()
	w.mu.Lock()
	defer w.mu.Unlock()
	began := w.began.Load()
	moved = moved || began != w.seen
	w.seen = began
	if w.stopped {
		w.ticking.Store(false)
		return
	}
	if !w.busy.Load() {
		// Stop, unless a write began meanwhile: the writer stores busy
		// before it loads ticking, and this stores ticking before it
		// loads busy, so one of them sees the other.
		w.ticking.Store(false)
		if !w.busy.Load() {
			return
		}
		w.ticking.Store(true)
	}
	if due := now + int64(w.timeout); moved && due > w.due.Load() {
		w.set(due)
	}
	w.arm()
}

// stop stops the timer for good and waits for a look under way: the reader
// calls it once no writer runs, as it ends.
func (w *watchdog) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.stopped = true
	if w.t != nil && w.t.Stop() {
		w.ticking.Store(false)
		w.looks.Done() // the look it would have run
	}
	w.mu.Unlock()
	w.looks.Wait()
}
