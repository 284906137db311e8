package cluster

// WithMessageHandler makes the node hand every message to h, on the reader
// goroutine of the remote's connection, instead of putting it in Inbox: for
// applications that want throughput close to a raw connection's, without a
// Message, a copy or a goroutine hand-off per message. Inbox then receives
// nothing (Close still closes it).
//
// Ownership: from and payload belong to the node and are valid only during
// the call. The node reads the next message into the same memory once h
// returns, so h must copy whatever it keeps, and must not change from. A
// message of up to 32 KiB is handed over in place, out of the connection's
// read buffer, with no allocation; a larger one is read into a buffer of its
// own first.
//
// Calls for one remote come one at a time, in the order the remote sent;
// calls for different remotes run at the same time. h may be called until
// Close returns, and may call any method of the node but Close.
//
// Flow control: while h runs, the connection is not read, and the bytes of a
// message are granted back to the remote once h has returned, so a slow
// handler pauses its remote through the receive window (its Sends wait, then
// fail with ErrTimeout) without anyone being removed. A health check waits
// behind what the window let in, though: h must keep up with a receive
// window (WithReceiveWindow) per healthy interval plus network timeout, and a
// call that blocks for that long gets the node removed by its remote.
func WithMessageHandler(h func(from Remote, payload []byte)) Option {
	return func(c *config) { c.messageHandler = h }
}

// toHandler hands a payload of size bytes, which the remote charged to its
// window, to the message handler, and grants its bytes back once the handler
// has returned.
func (p *peer) toHandler(payload []byte, charge int) {
	if p.from.IP == nil {
		p.from = remoteOf(p.key)
	}
	p.st.received(len(payload))
	p.n.cfg.messageHandler(p.from, payload)
	p.release(charge)
}

// readHandled reads a Data frame's payload of size bytes and hands it to the
// message handler: in place in the read buffer if it fits, else through a
// buffer the reader keeps, as it keeps the one for control frames.
func (p *peer) readHandled(size int) error {
	if size <= maxReadBuffer {
		b, err := p.br.Peek(size)
		if err != nil {
			return truncated(err)
		}
		p.toHandler(b, size)
		p.br.Discard(size)
		return nil
	}
	b, err := p.readBody(p.scratch[:0], size)
	p.scratch = b
	if err != nil {
		return err
	}
	p.toHandler(b, size)
	if cap(p.scratch) > maxSpare {
		p.scratch = nil
	}
	return nil
}
