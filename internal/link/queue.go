package link

import (
	"fmt"
	"slices"

	"github.com/peerweave/peerweave/internal/wire"
)

// windowError is a Window frame that opens the window past MaxWindow.
type windowError int

func (e windowError) Error() string { return fmt.Sprintf("flow control: a window of %d bytes", int(e)) }

// Queue queues data for the remote, behind tag, a Request or Reply frame
// (nil for none), as one message. If the queue is full, it queues nothing
// and returns a channel that closes when the writer takes data: the caller
// waits for it (or for Done, or its own limit) and tries again. ok is false
// if the link is leaving: no more data goes out.
func (l *Link) Queue(tag, data []byte) (drained <-chan struct{}, ok bool) {
	l.mu.Lock()
	if l.State().Leaving() {
		l.mu.Unlock()
		return nil, false
	}
	if q := l.queuedBytesLocked(); q > 0 && q+len(data) > l.cfg.SendQueue {
		if l.drained == nil {
			l.drained = make(chan struct{})
		}
		drained = l.drained
		l.mu.Unlock()
		return drained, true
	}
	wasEmpty := l.queuedBytesLocked() == 0
	l.data = appendData(append(l.data, tag...), data)
	l.queued++
	l.publishQueue()
	l.mu.Unlock()
	if wasEmpty {
		l.signal()
	}
	return nil, true
}

// Control queues a control frame of kind k with a raw body (nil for none)
// and wakes the writer. Control frames go out before data, in the order
// they were queued.
func (l *Link) Control(k wire.Kind, body []byte) {
	l.mu.Lock()
	l.ctrl = wire.AppendHeader(l.ctrl, k, len(body))
	l.ctrl = append(l.ctrl, body...)
	l.mu.Unlock()
	l.signal()
}

// Wake makes sure a writer looks at the queues.
func (l *Link) Wake() { l.signal() }

// appendData appends the frames of one payload to b: a Data frame, or
// fragments of at most wire.MaxFragment bytes, after growing b once to hold
// them all.
func appendData(b, data []byte) []byte {
	if len(data) <= wire.MaxFragment {
		b = wire.AppendHeader(b, wire.KindData, len(data))
		return append(b, data...)
	}
	frames := (len(data) + wire.MaxFragment - 1) / wire.MaxFragment
	b = slices.Grow(b, len(data)+frames*wire.HeaderSize+wire.FirstSize)
	b = wire.AppendHeader(b, wire.KindFirst, wire.FirstSize+wire.MaxFragment)
	b = wire.First{Total: uint32(len(data))}.Append(b)
	b = append(b, data[:wire.MaxFragment]...)
	for data = data[wire.MaxFragment:]; len(data) > 0; {
		n := min(len(data), wire.MaxFragment)
		b = wire.AppendHeader(b, wire.KindMore, n)
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}

// take hands the writer what it may write now: every control frame, and the
// data frames that the remote's window and one write's budget allow, or our
// goodbye once the data taken before is out. last says that they end with
// the acknowledgement of the remote's goodbye, and the connection with them,
// or with our goodbye, and our side of the stream with it. l.mu must be
// held.
func (l *Link) take() (ctrl, data []byte, last bool) {
	ctrl = l.ctrl
	l.ctrl, l.spare = l.spare[:0], nil
	start, queued, sent := l.taken, l.queued, 0
	for l.taken < len(l.data) {
		h := wire.HeaderOf(l.data[l.taken:])
		kind, payload, cost := h.Kind, h.Size, l.cost(h)
		var first wire.First
		switch kind {
		case wire.KindFirst:
			payload -= wire.FirstSize
			first, _ = wire.ParseFirst(l.data[l.taken+wire.HeaderSize:][:wire.FirstSize]) // written by appendData
		case wire.KindRequest, wire.KindReply:
			payload = 0 // a tag's bytes count neither against the window nor as traffic: its message pays the overhead
		}
		frame := wire.HeaderSize + h.Size
		if cost > l.credit || (l.taken > start && l.taken-start+frame > wire.MaxFragment) {
			break
		}
		switch kind {
		case wire.KindByeAck:
			last = true
		case wire.KindData:
			l.queued--
		case wire.KindFirst:
			l.rest = int(first.Total) - payload
		case wire.KindMore:
			if l.rest -= payload; l.rest == 0 {
				l.queued--
			}
		}
		l.credit -= cost
		l.taken += frame
		sent += payload
	}
	l.bytesOut.Add(uint64(sent))
	l.msgsOut.Add(uint64(queued - l.queued))
	l.publishQueue()
	l.noteWindow(l.taken > start)
	if l.taken > start && l.drained != nil {
		close(l.drained)
		l.drained = nil
	}
	if l.sayBye && l.taken == start {
		ctrl = wire.AppendHeader(ctrl, wire.KindBye, 0)
		l.sayBye, last = false, true
	}
	return ctrl, l.data[start:l.taken], last
}

// cost is what the frame of header h takes of the remote's window: its
// payload, and the overhead of a message for the frame that starts one; a
// tag's bytes count neither (its message pays the overhead).
func (l *Link) cost(h wire.Header) int {
	switch h.Kind {
	case wire.KindData:
		return h.Size + l.cfg.Overhead
	case wire.KindFirst:
		return h.Size - wire.FirstSize + l.cfg.Overhead
	case wire.KindMore:
		return h.Size
	}
	return 0
}

// noteWindow records, at the end of take, whether the data left in the
// queue waits for the remote's window, and since when (Stalled); moved
// says that take took some, so that a window that opened and shut again
// counts from now. l.mu must be held.
func (l *Link) noteWindow(moved bool) {
	need := 0
	if l.taken < len(l.data) {
		need = l.cost(wire.HeaderOf(l.data[l.taken:]))
	}
	switch {
	case need <= l.credit: // nothing waits, or only for the next write
		if l.shut.Load() != 0 {
			l.need = 0
			l.shut.Store(0)
		}
	case moved || l.shut.Load() == 0:
		l.need = need
		l.shut.Store(monotonic())
	}
}

// written tells the queues that the writer wrote what take gave it. l.mu
// must be held.
func (l *Link) written(ctrl []byte) {
	if cap(ctrl) <= MaxSpare {
		l.spare = ctrl[:0]
	}
	switch {
	case l.taken == len(l.data) && cap(l.data) > MaxSpare:
		l.data, l.taken = nil, 0
	case l.taken == len(l.data):
		l.data, l.taken = l.data[:0], 0
	case l.taken > len(l.data)/2:
		l.data = l.data[:copy(l.data, l.data[l.taken:])]
		l.taken = 0
	}
}

// discard drops the queued data and returns how many messages it held, one
// that the writer has begun included. l.mu must be held.
func (l *Link) discard() int {
	discarded := l.queued
	l.data, l.queued, l.rest = l.data[:l.taken], 0, 0
	l.publishQueue()
	return discarded
}

// Abort discards what is queued, for a connection that broke, and returns
// how many messages that was, unless a goodbye is under way: then leaving
// is set, nothing is discarded, and whoever started the goodbye finishes
// it. The caller closes the link either way.
func (l *Link) Abort() (leaving bool, discarded int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.State().Leaving() {
		return true, 0
	}
	return false, l.discard()
}
