package fault

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// wire is one shaped direction of a connection: the bytes the link took and
// not yet handed on, with when each slice of them leaves and arrives. One
// side puts bytes in, as they are written, into the send buffer; they
// leave while the receive buffer has room, and the other side takes them
// out once they arrived. Both sides wait on changed for what they need.
type wire struct {
	mu      sync.Mutex
	link    Link
	data    bytes.Buffer // the bytes held: put in, not yet taken
	in, out int64        // how many bytes were ever put in, taken out
	sched   int64        // how many bytes have their times in marks
	marks   []mark       // in order of offset, and of arrival
	free    time.Time    // when the link has sent everything scheduled
	stopped time.Time    // when a fault stopped the link; zero while it runs
	end     error        // how the stream ends, once drained; nil while it goes on
	endAt   time.Time    // when the end arrives
	giveUp  time.Time    // when to drop what is held and end; zero for never
	failed  error        // why the bytes can no longer go on
	changed chan struct{}
	watched bool // whether someone waits on changed
}

// mark says when the bytes before an offset arrive.
type mark struct {
	end   int64     // the offset just past the slice
	leave time.Time // when its last byte leaves
	at    time.Time // when its last byte arrives
}

func newWire(l Link) *wire {
	return &wire{link: l, changed: make(chan struct{})}
}

// notify wakes whoever waits for a change. w.mu must be held.
func (w *wire) notify() {
	if w.watched {
		close(w.changed)
		w.changed = make(chan struct{})
		w.watched = false
	}
}

// watch returns the channel closed at the next change. w.mu must be held.
func (w *wire) watch() <-chan struct{} {
	w.watched = true
	return w.changed
}

// put puts all of p in, as bytes handed to the link at now; a writer asks
// room first how much it may put.
func (w *wire) put(p []byte, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.closedErr(); err != nil {
		return err
	}
	if len(p) > 0 {
		w.data.Write(p)
		w.in += int64(len(p))
		w.pump(now)
		w.notify()
	}
	return nil
}

// closedErr returns why nothing more can be put in, or nil. w.mu must be
// held.
func (w *wire) closedErr() error {
	if w.failed != nil {
		return w.failed
	}
	if w.end != nil {
		return net.ErrClosed
	}
	return nil
}

// pump schedules the bytes waiting to leave that the receive buffer has
// room for, from now on: what is on the way and arrived but not taken
// stays within it, as TCP's receive window keeps it. w.mu must be held.
func (w *wire) pump(now time.Time) {
	to := min(w.in, w.out+int64(w.link.recvBuffer()))
	if w.sched >= to {
		return
	}
	w.schedule(w.sched, to, now)
	w.sched = to
	if w.end != nil {
		w.timeEnd(w.clock(now))
	}
}

// clock returns the link's time at now: the time it stopped, while a fault
// stops it. w.mu must be held.
func (w *wire) clock(now time.Time) time.Time {
	if !w.stopped.IsZero() && w.stopped.Before(now) {
		return w.stopped
	}
	return now
}

// schedule sends the bytes from offset from to offset to, handed to the
// link at start, one slice after the other. w.mu must be held.
func (w *wire) schedule(from, to int64, start time.Time) {
	if !w.stopped.IsZero() && w.stopped.Before(start) {
		start = w.stopped // the link's clock stands still while it is stopped
	}
	slice := int64(w.link.slice())
	for from < to {
		n := to - from
		if slice > 0 {
			n = min(n, slice)
		}
		from += n
		leave := w.free
		if leave.Before(start) {
			leave = start
		}
		leave = leave.Add(w.link.serialise(int(n)))
		w.free = leave
		w.mark(from, leave, leave.Add(w.link.Latency))
	}
}

// mark adds that the bytes up to end leave at leave and arrive at at, or
// with the previous slice if that arrives later: bytes do not overtake.
// w.mu must be held.
func (w *wire) mark(end int64, leave, at time.Time) {
	if n := len(w.marks); n > 0 && !w.marks[n-1].at.Before(at) {
		w.marks[n-1].end, w.marks[n-1].leave = end, leave
		return
	}
	w.marks = append(w.marks, mark{end: end, leave: leave, at: at})
}

// take takes out into p what arrived by now. If nothing did, it returns
// when something may arrive (zero if unknown) and a channel closed on a
// change. Once everything is taken, it returns the stream's end. at is
// when the last byte taken arrived.
func (w *wire) take(p []byte, now time.Time) (n int, at time.Time, err error, next time.Time, changed <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.giveUp.IsZero() && !now.Before(w.giveUp) {
		return 0, now, w.end, time.Time{}, nil
	}
	if w.stopped.IsZero() {
		ready := w.out
		for _, m := range w.marks {
			if m.at.After(now) || ready-w.out >= int64(len(p)) {
				break
			}
			ready, at = m.end, m.at
		}
		if k := int(min(ready-w.out, int64(len(p)))); k > 0 {
			w.data.Read(p[:k])
			w.out += int64(k)
			i := 0
			for i < len(w.marks) && w.marks[i].end <= w.out {
				i++
			}
			w.marks = w.marks[i:]
			w.pump(now)
			w.notify()
			return k, at, nil, time.Time{}, nil
		}
		if w.data.Len() == 0 && w.end != nil {
			if !w.endAt.After(now) {
				return 0, w.endAt, w.end, time.Time{}, nil
			}
			next = w.endAt
		}
		if len(w.marks) > 0 {
			next = w.marks[0].at
		}
	}
	if !w.giveUp.IsZero() && (next.IsZero() || w.giveUp.Before(next)) {
		next = w.giveUp
	}
	return 0, time.Time{}, nil, next, w.watch()
}

// finish ends the stream with err after the bytes put in so far, as if the
// end was handed to the link at now: it arrives one latency after the link
// is free. From giveUp on, if not zero, take ends the stream at once. A
// stream already ended keeps its end, and gets a give-up if it had none, as
// a half-closed connection that then closes.
func (w *wire) finish(err error, now time.Time, giveUp time.Duration) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := now
	if !w.stopped.IsZero() && w.stopped.Before(start) {
		start = w.stopped
	}
	if w.end == nil {
		w.end = err
		w.timeEnd(start)
	}
	if giveUp > 0 && w.giveUp.IsZero() {
		// While a fault stops the link its schedule waits; the give-up
		// does not.
		w.giveUp = now.Add(max(w.endAt.Sub(start), 0) + giveUp)
	}
	w.notify()
	return w.giveUp
}

// timeEnd sets when the end arrives, after everything else, as handed to
// the link at start. w.mu must be held.
func (w *wire) timeEnd(start time.Time) {
	t := w.free
	if t.Before(start) {
		t = start
	}
	w.endAt = t.Add(w.link.Latency)
	if n := len(w.marks); n > 0 && w.marks[n-1].at.After(w.endAt) {
		w.endAt = w.marks[n-1].at
	}
}

// fail stops the stream for good: put fails with err from now on.
func (w *wire) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failed = err
	w.notify()
}

// stop stops the link at now if stopped, or restarts it: bytes on the way
// or waiting when it stopped resume their course where they were, later by
// how long it stood still.
func (w *wire) stop(stopped bool, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case stopped && w.stopped.IsZero():
		w.stopped = now
	case !stopped && !w.stopped.IsZero():
		d, since := now.Sub(w.stopped), w.stopped
		w.stopped = time.Time{}
		for i := range w.marks {
			m := &w.marks[i]
			if m.at.After(since) {
				m.at = m.at.Add(d)
			}
			if m.leave.After(since) {
				m.leave = m.leave.Add(d)
			}
		}
		if w.free.After(since) {
			w.free = w.free.Add(d)
		}
		if w.end != nil && w.endAt.After(since) {
			w.endAt = w.endAt.Add(d)
		}
		w.notify()
	}
}

// reshape gives the link the shape l from now on: the bytes on the way
// arrive l's latency after they left, or now if that passed, and those
// still waiting leave at l's bandwidth.
func (w *wire) reshape(l Link, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l == w.link {
		return
	}
	w.link = l
	t := now
	if !w.stopped.IsZero() {
		t = w.stopped
	}
	// The slices that left keep their order and arrive with the new
	// latency; the rest leaves anew.
	left := 0
	for left < len(w.marks) && !w.marks[left].leave.After(t) {
		left++
	}
	sent := w.out
	var last time.Time
	for i := range w.marks[:left] {
		m := &w.marks[i]
		if m.at.After(t) {
			m.at = m.leave.Add(l.Latency)
			if m.at.Before(t) {
				m.at = t
			}
		}
		if m.at.Before(last) {
			m.at = last
		}
		last, sent = m.at, m.end
	}
	w.marks = w.marks[:left]
	w.free = t
	w.sched = sent
	w.pump(t)
	if w.end != nil {
		w.timeEnd(t)
	}
	w.notify()
}
