package cluster

import (
	"context"
	"fmt"
	"sync"

	"github.com/peerweave/peerweave/internal/wire"
)

// The side of requests that serves them: a connection's running handlers,
// the tags of payloads, and the handler slots that remotes' requests wait
// for in turn.

// peerConv is a connection's side of requests.
type peerConv struct {
	once   sync.Once
	ctx    context.Context // ends when the remote is removed, its cause saying how
	cancel context.CancelCauseFunc

	mu      sync.Mutex          // guards running
	running map[uint64]*handler // the handlers of the remote's requests that run, by request id
}

// handler is a running handler of one request, which a Cancel ends.
type handler struct{ cancel context.CancelFunc }

// Cancel takes the remote's word that it gave up on its request id
// (link.Handler): the context of the request's handler ends, if it runs.
func (p *peer) Cancel(id uint64) {
	c := &p.conv
	c.mu.Lock()
	h := c.running[id]
	c.mu.Unlock()
	if h != nil {
		h.cancel()
	}
}

// run registers the handler of request id, under a context of its own, and
// returns that context and what unregisters it once the handler is done.
func (c *peerConv) run(parent context.Context, id uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	h := &handler{cancel: cancel}
	c.mu.Lock()
	if c.running == nil {
		c.running = make(map[uint64]*handler)
	}
	c.running[id] = h
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		if c.running[id] == h {
			delete(c.running, id)
		}
		if len(c.running) == 0 {
			c.running = nil // a map does not shrink
		}
		c.mu.Unlock()
		cancel()
	}
}

// tag is what a Request or Reply frame says of the payload after it.
type tag struct {
	kind   wire.Kind
	id     uint64
	status byte
}

// reply reports whether t tags a reply; t may be nil.
func (t *tag) reply() bool { return t != nil && t.kind == wire.KindReply }

// convContext returns the context of p's conversations: the handlers of its
// requests run under it, and the calls to it wait on it.
func (p *peer) convContext() context.Context {
	c := &p.conv
	c.once.Do(func() { c.ctx, c.cancel = context.WithCancelCause(context.Background()) })
	return c.ctx
}

// endConversations ends p's conversations because of cause, the first time
// it is called: the handlers of p's requests are cancelled and the calls to
// p fail. It is O(1), so that it may run under n.mu.
func (p *peer) endConversations(cause error) {
	p.convContext()
	p.conv.cancel(cause)
}

// tryServe hands the tagged payload m to where it goes, if it can now: a
// reply to the call that waits for it (or nowhere, if none does), a request
// to a new handler if one may start.
func (p *peer) tryServe(m *Message, t *tag) bool {
	if t.kind == wire.KindReply {
		if cl := p.n.conv.take(t.id, p); cl != nil {
			p.n.end(cl, result{payload: m.Payload, status: t.status})
		}
		return true
	}
	select {
	case p.n.conv.slots <- struct{}{}:
		p.n.wg.Go(func() { p.handle(t.id, m) })
		return true
	default:
		return false
	}
}

// serveOrWait is tryServe for the deliverer, which must not wait for a
// handler's turn while other remotes' messages wait for it: if no handler
// may start, p joins the remotes that wait for one, and the next handler
// to end puts it back in the deliverer's queue. It reports whether m was
// handed over.
func (p *peer) serveOrWait(m *Message, t *tag) bool {
	c := &p.n.conv
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	if p.tryServe(m, t) {
		return true
	}
	c.waiting = append(c.waiting, p)
	return false
}

// freeSlot gives back a handler's slot and the deliverer's turn to the
// remote that waited longest for one, if any.
func (n *Node) freeSlot() {
	<-n.conv.slots
	c := &n.conv
	c.waitMu.Lock()
	var p *peer
	if len(c.waiting) > 0 {
		p = c.waiting[0]
		c.waiting[0] = nil
		c.waiting = c.waiting[1:]
	}
	c.waitMu.Unlock()
	if p != nil {
		n.backlog.add(p)
	}
}

// nodeKey is the context key under which a handler's context holds its node.
type nodeKey struct{}

// handle runs the handler for the request id from p and queues its reply,
// on a goroutine of the node that holds one of its slots.
func (p *peer) handle(id uint64, req *Message) {
	n := p.n
	defer n.freeSlot()
	ctx, done := p.conv.run(p.convContext(), id)
	defer done()
	status, body := wire.ReplyNoHandler, []byte(nil)
	if h := *n.conv.handler.Load(); h != nil {
		var err error
		body, err = h(context.WithValue(ctx, nodeKey{}, n), req)
		switch {
		case err != nil:
			status, body = wire.ReplyError, []byte(err.Error())
		case len(body) > n.cfg.maxMessage:
			status, body = wire.ReplyError, fmt.Appendf(nil, "reply of %d bytes: %v", len(body), ErrMessageTooLarge)
		default:
			status = wire.ReplyOK
		}
		if len(body) > n.cfg.maxMessage {
			body = body[:n.cfg.maxMessage]
		}
	}
	if ctx.Err() != nil {
		return // nobody waits for the answer
	}
	if err := p.sendTagged(ctx, replyTag(id, status), body); err != nil {
		n.log.Debug("reply not sent", "remote", p.key.String(), "err", err)
	}
}
