package link

import (
	"errors"
	"fmt"

	"github.com/peerweave/peerweave/internal/wire"
)

// readData reads a Data, First or More frame of size bytes and hands up the
// payload it completes (Payload). The payload's bytes, and once a message
// Config.Overhead, are charged to the window we granted the remote, which breaks the protocol if it overdraws
// it; the node gives them back (Release) as it consumes the payload, and,
// told of a fragmented payload's size (First), says, fragment by fragment,
// what to give back at once (Part).
func (l *Link) readData(k wire.Kind, size int) error {
	if l.State() == GotBye {
		return ProtocolError{fmt.Errorf("%s frame after a goodbye", k)}
	}
	if (k == wire.KindMore) != (l.total > 0) {
		if k == wire.KindMore {
			return ProtocolError{errors.New("more frame without a first")}
		}
		return ProtocolError{fmt.Errorf("%s frame inside a fragmented payload", k)}
	}
	payload := size
	switch k {
	case wire.KindFirst:
		if size < wire.FirstSize || size-wire.FirstSize > wire.MaxFragment {
			return ProtocolError{fmt.Errorf("first frame of %d bytes", size)}
		}
		b, err := l.br.Peek(wire.FirstSize)
		if err != nil {
			return Truncated(err)
		}
		f, err := wire.ParseFirst(b)
		if err != nil {
			return ProtocolError{err}
		}
		l.br.Discard(wire.FirstSize)
		total := int(f.Total)
		payload -= wire.FirstSize
		if total > l.cfg.MaxMessage || total <= payload {
			return ProtocolError{fmt.Errorf("first frame of a %d-byte payload", total)}
		}
		l.part, l.total = make([]byte, 0, min(total, EagerRead)), total
	case wire.KindMore:
		if size > wire.MaxFragment || len(l.part)+size > l.total {
			return ProtocolError{fmt.Errorf("more frame of %d bytes, %d of %d received", size, len(l.part), l.total)}
		}
	}
	cost := payload
	if k != wire.KindMore {
		cost += l.cfg.Overhead // once a message
	}
	if l.granted.Add(-int64(cost)) < 0 {
		return ProtocolError{fmt.Errorf("flow control: %d bytes past the window", -l.granted.Load())}
	}
	if k == wire.KindData {
		return l.readPayload(size, cost)
	}
	if k == wire.KindFirst {
		l.h.First(l.total)
	}
	l.grow(payload)
	var err error
	if l.part, err = l.br.ReadBody(l.part, payload, EagerRead); err != nil {
		return err
	}
	done := len(l.part) == l.total
	charge := l.h.Part(cost, done)
	if !done {
		return nil
	}
	part, t := l.part, l.tag
	l.part, l.total, l.tag = nil, 0, Tag{}
	l.received(len(part))
	return l.h.Payload(part, t, true, charge)
}

// grow makes room in the fragmented payload under way for n more bytes:
// it doubles the buffer, but never past the payload's length, so that the
// buffer holds at most what the payload needs, and at most twice what
// arrived.
func (l *Link) grow(n int) {
	need := len(l.part) + n
	if need <= cap(l.part) {
		return
	}
	b := make([]byte, len(l.part), min(l.total, max(need, 2*cap(l.part))))
	copy(b, l.part)
	l.part = b
}

// readPayload reads the payload of a Data frame of size bytes, which holds
// charge bytes of the window, and hands it up: in place in the read buffer if it fits, else in a buffer of its own,
// or, for a node that borrows plain payloads (Config.Borrow), in the one
// the reader keeps.
func (l *Link) readPayload(size, charge int) error {
	t := l.tag
	l.tag = Tag{}
	l.received(size)
	if size <= MaxReadBuffer {
		b, err := l.br.Peek(size)
		if err != nil {
			return Truncated(err)
		}
		l.unread = size
		if err := l.h.Payload(b, t, false, charge); err != nil {
			return err // ErrRelieved: the frame is the new reader's to skip
		}
		l.br.Discard(size)
		return nil
	}
	l.unread = 0
	if !l.cfg.Borrow || t.Kind != 0 {
		b, err := l.br.ReadBody(nil, size, EagerRead)
		if err != nil {
			return err
		}
		return l.h.Payload(b, t, true, charge)
	}
	b, err := l.br.ReadBody(l.scratch[:0], size, EagerRead)
	l.scratch = b
	if err != nil {
		return err
	}
	if err := l.h.Payload(b, t, false, charge); err != nil {
		return err
	}
	if cap(l.scratch) > MaxSpare {
		l.scratch = nil
	}
	return nil
}

// Release gives the remote back n bytes of its window, once the node has
// consumed the payloads that held them; they go out in a Window frame once
// they add up to Config.GrantAt, so that a busy link carries a Window frame
// per quarter window rather than per message.
func (l *Link) Release(n int) {
	if n == 0 {
		return
	}
	r := l.released.Add(int64(n))
	if r >= int64(l.cfg.GrantAt) && l.released.CompareAndSwap(r, 0) {
		l.granted.Add(r)
		l.Control(wire.KindWindow, WindowBody(int(r)))
	}
}

// received counts a message of size bytes read. The reader calls it.
func (l *Link) received(size int) {
	l.msgsIn.Store(l.msgsIn.Load() + 1)
	l.bytesIn.Store(l.bytesIn.Load() + uint64(size))
}

// Received returns how many messages and payload bytes the reader has read.
func (l *Link) Received() (msgs, bytes uint64) { return l.msgsIn.Load(), l.bytesIn.Load() }
