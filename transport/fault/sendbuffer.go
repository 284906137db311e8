package fault

import (
	"sort"
	"time"
)

// The send buffer of a wire holds the bytes put in that have not arrived:
// those waiting to leave (from the offset that left to in) and those on
// the way (from the offset that arrived to the one that left). The marks
// say when each slice leaves and arrives, in order of both, so both
// offsets, and the times at which they pass a given offset, follow from
// them at any time, by binary search.

// room returns how many bytes a writer may put in at now. If none, it
// returns when it may (zero if only a change can tell, such as the reader
// taking bytes or the link restarting) and a channel closed on a change.
// blocked says whether the writer found no room the last time it asked:
// then it waits for the wake-up room of the link (a third of the send
// buffer, as Linux wakes a writer), not for the first free byte. With a
// not-sent low-water mark, the bytes waiting to leave must be fewer than
// it to put any in, and fewer than half of it to wake a blocked writer.
func (w *wire) room(now time.Time, blocked bool) (n int, next time.Time, changed <-chan struct{}, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.closedErr(); err != nil {
		return 0, time.Time{}, nil, err
	}
	t := w.clock(now)
	size := int64(w.link.sendBuffer())
	need := int64(1)
	if blocked {
		need = int64(w.link.wakeRoom())
	}
	free := size - (w.in - w.arrived(t))
	room, ready := free, free >= need
	var waits []int64 // the offsets that must arrive, or leave, first
	if !ready {
		waits = append(waits, w.in-(size-need))
	}
	arrive := len(waits)
	if lowat := int64(w.link.NotSentLowat); lowat > 0 {
		limit := lowat
		if blocked {
			limit = max(lowat/2, 1)
		}
		unsent := w.in - w.left(t)
		if unsent >= limit {
			ready = false
			waits = append(waits, w.in-limit+1)
		}
		room = min(room, lowat-unsent)
	}
	if ready {
		return int(room), time.Time{}, nil, nil
	}
	if w.stopped.IsZero() {
		for i, off := range waits {
			at, ok := w.passes(off, i < arrive)
			if !ok {
				next = time.Time{}
				break
			}
			if at.After(next) {
				next = at
			}
		}
	}
	return 0, next, w.watch(), nil
}

// unacked returns how many bytes put in have not arrived by now: those
// waiting to leave and those on the way. While the link is stopped, no
// byte arrives.
func (w *wire) unacked(now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.in - w.arrived(w.clock(now)))
}

// arrived returns the offset before which every byte arrived by the link's
// time t. w.mu must be held.
func (w *wire) arrived(t time.Time) int64 {
	i := sort.Search(len(w.marks), func(i int) bool { return w.marks[i].at.After(t) })
	return w.offsetBefore(i)
}

// left returns the offset before which every byte left by the link's time
// t. w.mu must be held.
func (w *wire) left(t time.Time) int64 {
	i := sort.Search(len(w.marks), func(i int) bool { return w.marks[i].leave.After(t) })
	return w.offsetBefore(i)
}

// offsetBefore returns the offset past the marks before the i-th. w.mu must
// be held.
func (w *wire) offsetBefore(i int) int64 {
	if i == 0 {
		return w.out
	}
	return w.marks[i-1].end
}

// passes returns when the byte before offset off arrives, or leaves if not
// arrive, as scheduled; false if it has no time yet, waiting for room in
// the receive buffer. w.mu must be held.
func (w *wire) passes(off int64, arrive bool) (time.Time, bool) {
	if off <= w.out {
		return time.Time{}, true
	}
	i := sort.Search(len(w.marks), func(i int) bool { return w.marks[i].end >= off })
	if i == len(w.marks) {
		return time.Time{}, false
	}
	if arrive {
		return w.marks[i].at, true
	}
	return w.marks[i].leave, true
}
