package cluster

import "github.com/peerweave/peerweave/internal/link"

// Payload takes a whole payload that p's link read (link.Handler): a plain
// one goes to the message handler if there is one, else into a Message
// for Inbox; a tagged one (a request's or a reply's, request.go) into a
// Message for where it goes. charge bytes of the window go back to the
// remote once it is consumed. b is p's to keep if owned; if not, it is
// copied, but for the message handler, which takes it in place.
func (p *peer) Payload(b []byte, t link.Tag, owned bool, charge int) error {
	if t.Kind == 0 && p.n.cfg.messageHandler != nil {
		return p.toHandler(b, charge)
	}
	var tg *tag
	if t.Kind != 0 {
		tg = &tag{kind: t.Kind, id: t.ID, status: t.Status}
	}
	m := newMessage(p.key, len(b))
	switch {
	case m.Payload != nil:
		copy(m.Payload, b)
	case owned:
		m.Payload = b
	default:
		// append, unlike make, does not zero the memory it is about to fill.
		m.Payload = append([]byte(nil), b...)
	}
	p.deliver(m, tg, charge)
	return nil
}

// Part takes n more bytes of a fragmented payload that p's link reads
// (link.Handler), and returns the charge of the payload when done. While
// nothing is parked, the bytes go back to the remote at once; while
// messages are parked, they are held until the last of them goes into
// Inbox (see inbound.partHeld).
func (p *peer) Part(n int, done bool) (charge int) {
	in := &p.in
	in.mu.Lock()
	early := 0
	if len(in.pending) == 0 {
		early = n
	} else {
		in.partHeld += n
	}
	charge = in.partHeld
	if done {
		in.partHeld = 0
	}
	in.mu.Unlock()
	p.release(early)
	return charge
}
