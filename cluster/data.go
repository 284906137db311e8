package cluster

import (
	"errors"
	"fmt"

	"github.com/peerweave/peerweave/internal/wire"
)

// readData reads a Data, First or More frame of size bytes and delivers the
// payload it completes. The payload's bytes are charged to the window this
// node granted the remote, which breaks the protocol if it overdraws it;
// they are granted back when the message goes into Inbox, or, for a
// fragment, as inbound.partHeld says.
func (p *peer) readData(k wire.Kind, size int) error {
	in := &p.in
	if p.getState() == gotBye {
		return protocolError{fmt.Errorf("%s frame after a goodbye", k)}
	}
	if (k == wire.KindMore) != (in.total > 0) {
		if k == wire.KindMore {
			return protocolError{errors.New("more frame without a first")}
		}
		return protocolError{fmt.Errorf("%s frame inside a fragmented payload", k)}
	}
	payload := size
	switch k {
	case wire.KindFirst:
		if size < wire.FirstSize || size-wire.FirstSize > wire.MaxFragment {
			return protocolError{fmt.Errorf("first frame of %d bytes", size)}
		}
		b, err := p.br.Peek(wire.FirstSize)
		if err != nil {
			return truncated(err)
		}
		f, err := wire.ParseFirst(b)
		if err != nil {
			return protocolError{err}
		}
		p.br.Discard(wire.FirstSize)
		total := int(f.Total)
		payload -= wire.FirstSize
		if total > p.n.cfg.maxMessage || total <= payload {
			return protocolError{fmt.Errorf("first frame of a %d-byte payload", total)}
		}
		in.part, in.total = make([]byte, 0, min(total, eagerRead)), total
	case wire.KindMore:
		if size > wire.MaxFragment || len(in.part)+size > in.total {
			return protocolError{fmt.Errorf("more frame of %d bytes, %d of %d received", size, len(in.part), in.total)}
		}
	}
	if in.credit.Add(-int64(payload)) < 0 {
		return protocolError{fmt.Errorf("flow control: %d payload bytes past the window", -in.credit.Load())}
	}
	// A tagged payload is a request's or a reply's (request.go), never the
	// message handler's.
	handled := p.n.cfg.messageHandler != nil && p.conv.tag == nil
	if k == wire.KindData && handled {
		return p.readHandled(size)
	}
	if k == wire.KindData {
		m, err := p.readMessage(size)
		if err != nil {
			return err
		}
		p.st.received(size)
		p.deliver(m, size)
		return nil
	}
	var err error
	if in.part, err = p.readBody(in.part, payload); err != nil {
		return err
	}
	in.mu.Lock()
	early := 0
	if len(in.pending) == 0 {
		early = payload
	} else {
		in.partHeld += payload
	}
	charge := in.partHeld
	done := len(in.part) == in.total
	if done {
		in.partHeld = 0
	}
	in.mu.Unlock()
	p.release(early)
	if !done {
		return nil
	}
	if handled {
		part := in.part
		in.part, in.total = nil, 0
		return p.toHandler(part, charge, 0)
	}
	m := newMessage(p.key, 0)
	m.Payload, in.part, in.total = in.part, nil, 0
	p.st.received(len(m.Payload))
	p.deliver(m, charge)
	return nil
}

// readWindow reads a Window frame: the remote opens its window into this
// node's sends.
func (p *peer) readWindow(size int) error {
	b, err := p.peekBody(wire.KindWindow, size, wire.WindowSize)
	if err != nil {
		return err
	}
	w, err := wire.ParseWindow(b)
	if err != nil {
		return protocolError{err}
	}
	p.br.Discard(size)
	inc := int(w.Increment)
	p.mu.Lock()
	p.credit += inc
	credit, waiting := p.credit, p.queuedBytes() > 0
	p.mu.Unlock()
	if credit > maxWindow {
		return protocolError{fmt.Errorf("flow control: a window of %d bytes", credit)}
	}
	if waiting {
		p.signal()
	}
	p.windowGrew() // stall.go
	return nil
}

// readMessage reads a payload of size bytes into a new Message. One that
// fits in the read buffer but not in the Message is copied out by append,
// which, unlike make, does not zero the memory it is about to fill.
func (p *peer) readMessage(size int) (*Message, error) {
	m := newMessage(p.key, size)
	if size > maxReadBuffer {
		b, err := p.readBody(nil, size)
		m.Payload = b
		return m, err
	}
	b, err := p.br.Peek(size)
	if err != nil {
		return nil, truncated(err)
	}
	if m.Payload == nil {
		m.Payload = append([]byte(nil), b...)
	} else {
		copy(m.Payload, b)
	}
	p.br.Discard(size)
	return m, nil
}
