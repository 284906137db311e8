package cluster

import "github.com/peerweave/peerweave/internal/link"

// Payload takes a whole payload that p's link read (link.Handler): a plain
// one goes to the message handler if there is one, else into a Message
// for Inbox; a tagged one (a request's or a reply's, request.go) into a
// Message for where it goes. charge bytes of the window go back to the
// remote once it is consumed, and so does the room a fragmented payload
// held in the assembly budget (in.carried). b is p's to keep if owned; if
// not, it is copied, but for the message handler, which takes it in place.
func (p *peer) Payload(b []byte, t link.Tag, owned bool, charge int) error {
	held := p.in.carried
	p.in.carried = 0
	if t.Kind == 0 && p.n.cfg.messageHandler != nil {
		return p.toHandler(b, charge, held)
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
	p.deliver(m, tg, charge, held)
	return nil
}

// First tells of a fragmented payload of total bytes that p's link begins
// to read (link.Handler): it claims room for it in the node's assembly
// budget, or waits for room (assembly.go).
func (p *peer) First(total int) {
	c, start := p.n.asm.claim(p, total)
	p.in.mu.Lock()
	p.in.claim = c
	p.in.mu.Unlock()
	if start {
		p.n.wg.Go(p.n.checkAssembly)
	}
}

// Part takes n more bytes of a fragmented payload that p's link reads
// (link.Handler), and returns the charge of the payload when done. While
// the payload holds room in the assembly budget and nothing is parked, the
// bytes go back to the remote at once; otherwise they are held until both
// hold (see inbound.partHeld).
func (p *peer) Part(n int, done bool) (charge int) {
	in := &p.in
	in.mu.Lock()
	c := in.claim
	c.got.Add(int64(n))
	early := 0
	if len(in.pending) == 0 && c.held.Load() {
		early = n
	} else {
		in.partHeld += n
	}
	charge = in.partHeld
	if done {
		in.partHeld = 0
		in.claim = nil
	}
	in.mu.Unlock()
	p.release(early)
	if done {
		held, gs := p.n.asm.complete(c, int64(charge) >= c.got.Load())
		in.carried = held
		granted(gs)
	}
	return charge
}

// claimed follows c's getting room in the assembly budget: if c's payload
// is still under way and nothing is parked, what its bytes held of the
// window goes back to the remote.
func (p *peer) claimed(c *claim) {
	in := &p.in
	in.mu.Lock()
	n := 0
	if in.claim == c && len(in.pending) == 0 {
		n, in.partHeld = in.partHeld, 0
	}
	in.mu.Unlock()
	p.release(n)
}

// endAssembly frees the room of the payload p's link was reading when it
// ended: the link's reader calls it last (Exited).
func (p *peer) endAssembly() {
	in := &p.in
	in.mu.Lock()
	c := in.claim
	in.claim = nil
	in.mu.Unlock()
	if c != nil {
		granted(p.n.asm.abandon(c))
	}
}

// freeClaim gives back n bytes of room that a payload held in the
// assembly budget, once it has left the node.
func (n *Node) freeClaim(held int64) {
	if held != 0 {
		granted(n.asm.free(held))
	}
}
