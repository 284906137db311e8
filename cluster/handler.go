package cluster

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/peerweave/peerweave/internal/link"
)

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
// calls for different remotes run at the same time. No call starts once
// Close has returned (see Close for one under way when it is called). h may
// call any method of the node, Close and those that wait for the remote
// whose message it handles included: a Request or a Query of it, a Send that
// waits for room, its CloseRemote. While such a call
// waits, another goroutine reads the remote's connection, so the reply, the
// room or the acknowledgement comes, and the messages that arrive meanwhile
// wait, copied, for h to return, then reach it in order.
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

// handling is a connection's side of the message handler: one call at a
// time, in order, normally on the reader. A call that waits for the
// remote it handles, such as a Request to it or its CloseRemote, needs that
// remote's connection read meanwhile: relieve then has a new reader take
// over the connection after the frame in hand (link.Relieve), while the old
// one stays in the call. The new reader holds the handled messages that
// arrive while the call runs, copied, in order, within the window, since
// their bytes are granted back only once handled; the old reader hands them
// to the handler once its call returns, then ends.
type handling struct {
	mu   sync.Mutex // guards the fields below, and the hand-over of the reader
	busy bool       // a handler call runs
	held []heldMessage
	// inReader says that the call runs on the goroutine that reads the
	// connection; relieved that another goroutine reads it from now on.
	inReader atomic.Bool
	relieved bool
}

// heldMessage is a payload that waits for the handler call before it, how
// many bytes to grant back once it is handled, and the room it holds in
// the assembly budget (a fragmented payload's, assembly.go) till then.
type heldMessage struct {
	payload []byte
	charge  int
	room    int64
}

// toHandler hands a payload, which the remote charged bytes of its window
// for and which holds room bytes of the assembly budget, to the message
// handler, on the reader, if no call runs; else it holds a copy for the
// call that runs, charge and room included, so that what the held copies
// keep stays within the window and the budget. It returns
// link.ErrRelieved if another reader took the connection over meanwhile
// (see handling): the reader then returns, touching nothing of its state.
func (p *peer) toHandler(payload []byte, charge int, room int64) error {
	h := &p.handling
	h.mu.Lock()
	if h.busy {
		h.held = append(h.held, heldMessage{bytes.Clone(payload), charge, room})
		h.mu.Unlock()
		return nil
	}
	h.busy = true
	h.inReader.Store(true)
	h.mu.Unlock()
	p.callHandler(payload, charge, room)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inReader.Store(false)
	relieved := h.relieved
	h.relieved = false
	for len(h.held) > 0 {
		m := h.held[0]
		h.held = h.held[1:]
		h.mu.Unlock()
		p.callHandler(m.payload, m.charge, m.room)
		h.mu.Lock()
	}
	h.held, h.busy = nil, false
	if relieved {
		return link.ErrRelieved
	}
	return nil
}

// callHandler calls the message handler with payload and gives back its
// charge and its room once it has returned.
func (p *peer) callHandler(payload []byte, charge int, room int64) {
	if p.from.IP == nil {
		p.from = remoteOf(p.key)
	}
	p.n.events.handleMessage(p.n.cfg.messageHandler, p.from, payload)
	p.release(charge)
	p.n.freeClaim(room)
}

// relieve has a new reader take p's connection over if its reader is in a
// message handler call, which may be waiting for what the connection
// brings (see handling). Whoever waits for p's remote calls it.
func (p *peer) relieve() {
	h := &p.handling
	if !h.inReader.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.inReader.Load() || h.relieved {
		return
	}
	// The reader is in the call, and touches its state again only under
	// h.mu, to find it relieved: the new reader takes the state over.
	h.relieved = true
	p.link.Relieve()
}
