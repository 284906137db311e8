package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/peerweave/peerweave/internal/wire"
)

// A RequestHandler answers the requests that other nodes make of this node
// with Request or Query: it returns the reply's payload, or an error, whose
// text the caller gets as a *RemoteError.
//
// The node runs each request's handler on a goroutine of its own, at most
// DefaultRequestConcurrency at once (see WithRequestConcurrency); requests
// beyond that wait in the node, in order with the remote's messages (which
// wait behind them; other remotes' do not), and count against the remote's
// window as messages do. req.From is the
// requester; req.Payload is the handler's to keep. ctx ends when nobody
// waits for the answer any more: the requester is removed, this node
// closes, or the requester gave up on the request while the handler ran
// (its context ended, and it said so; a request that waits for a handler
// when that word comes runs anyway, and its reply is discarded). Close
// waits for the handlers but one that was running when it was called (see
// Node.Close), so a handler that waits must give up when ctx ends.
type RequestHandler func(ctx context.Context, req *Message) ([]byte, error)

// DefaultRequestConcurrency is how many request handlers a node runs at once
// unless WithRequestConcurrency says otherwise.
const DefaultRequestConcurrency = 64

// WithRequestHandler makes h the node's request handler from the start; see
// SetRequestHandler.
func WithRequestHandler(h RequestHandler) Option { return func(c *config) { c.handler = h } }

// WithRequestConcurrency sets how many request handlers the node runs at
// once (default DefaultRequestConcurrency; 0 or less means the default).
func WithRequestConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// SetRequestHandler makes h the node's request handler, for the requests
// that arrive from then on; nil removes it. A node without a handler
// answers every request with a reply that makes the caller's Request fail
// with ErrNoHandler at once.
func (n *Node) SetRequestHandler(h RequestHandler) { n.conv.handler.Store(&h) }

// conversations is a node's side of requests: the calls it waits for and
// the handlers it runs.
type conversations struct {
	handler atomic.Pointer[RequestHandler]
	slots   chan struct{} // one per running handler: bounds them
	nextID  atomic.Uint64

	// waitMu guards waiting, the remotes whose oldest parked message is a
	// request that waits for a slot (serveOrWait), oldest first.
	waitMu  sync.Mutex
	waiting []*peer

	mu    sync.Mutex       // guards calls and peak; held for no I/O, nothing O(N)
	calls map[uint64]*call // the requests waiting for a reply, by id
	peak  int              // the most calls since the map was last made
}

// maxIdleCalls is how many calls the map of an idle node may have held
// before it is made afresh once it empties: a map does not shrink.
const maxIdleCalls = 1024

func (c *conversations) init(cfg *config) {
	c.handler.Store(&cfg.handler)
	c.slots = make(chan struct{}, positiveOr(cfg.concurrency, DefaultRequestConcurrency))
	c.calls = make(map[uint64]*call)
}

// positiveOr returns v if it is positive, else def.
func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// call is a request waiting for its reply: from a Request, whose goroutine
// waits on done, or one of a Query.
type call struct {
	id   uint64
	p    *peer
	done chan result // capacity 1; for a Request
	q    *Query      // for a query
	stop func() bool // for a query: stops watching for p's removal; guarded by q.mu
}

// result is what ends a call: a reply, or an error.
type result struct {
	payload []byte
	status  byte
	err     error
}

// open registers c under a new id and returns it.
func (c *conversations) open(cl *call) uint64 {
	cl.id = c.nextID.Add(1)
	c.mu.Lock()
	c.calls[cl.id] = cl
	c.peak = max(c.peak, len(c.calls))
	c.mu.Unlock()
	return cl.id
}

// take removes and returns the call of id to p, or nil if there is none:
// it ended already, or the id is not p's. Whoever takes a call ends it.
func (c *conversations) take(id uint64, p *peer) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.calls[id]
	if cl == nil || cl.p != p {
		return nil
	}
	delete(c.calls, id)
	if len(c.calls) == 0 && c.peak > maxIdleCalls {
		c.calls, c.peak = make(map[uint64]*call), 0
	}
	return cl
}

// pending is how many calls wait for a reply.
func (c *conversations) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// end ends cl with r.
func (n *Node) end(cl *call, r result) {
	if cl.q == nil {
		cl.done <- r
		return
	}
	cl.q.unwatch(cl)
	a := Answer{From: remoteOf(cl.p.key)}
	a.Payload, a.Err = r.answer(a.From)
	cl.q.answer(a)
}

// answer is what a Request to remote returns for r.
func (r result) answer(remote Remote) ([]byte, error) {
	switch {
	case r.err != nil:
		return nil, r.err
	case r.status == wire.ReplyError:
		return nil, &RemoteError{Remote: remote, Text: string(r.payload)}
	case r.status == wire.ReplyNoHandler:
		return nil, fmt.Errorf("cluster: request to %s: %w", remote, ErrNoHandler)
	}
	return r.payload, nil
}

// Request sends payload to the remote as a request and returns the payload
// of its handler's reply (see RequestHandler).
//
// The request is queued as Send queues a message, in order with the
// messages sent to the remote before and after it, and the remote's handler
// gets it after those sent before it are in its Inbox. Request fails with
// the context's error when ctx ends first: the node then forgets the
// request and tells the remote, whose handler's context ends, and a reply
// that comes later is discarded. It fails with a
// *RemoteError when the handler returned an error, ErrNoHandler when the
// remote has none, ErrRemoteLeft or ErrRemoteLost when the remote is removed
// before it answers, ErrUnknownRemote for a remote the node is not
// connected to, ErrClosed when the node closes, and as Send does when the
// request cannot be queued (ErrMessageTooLarge, ErrTimeout).
func (n *Node) Request(ctx context.Context, to Remote, payload []byte) ([]byte, error) {
	p, err := n.asked(to, payload)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("cluster: request to %s: %w", to, ctxErr(ctx)) // nobody would wait for the answer
	}
	cl := &call{p: p, done: make(chan result, 1)}
	id := n.conv.open(cl)
	life := p.convContext()
	if err := p.sendTagged(ctx, requestTag(id), payload); err != nil {
		n.conv.take(id, p)
		return nil, n.failed(to, p, err)
	}
	p.relieve() // the reply comes on p's connection
	select {
	case r := <-cl.done:
		return r.answer(to)
	case <-ctx.Done():
		if n.conv.take(id, p) == nil {
			return (<-cl.done).answer(to) // the reply came first
		}
		p.cancel(id)
		return nil, fmt.Errorf("cluster: request to %s: %w", to, ctxErr(ctx))
	case <-life.Done():
		if n.conv.take(id, p) == nil {
			return (<-cl.done).answer(to)
		}
		return nil, n.gone(to, p)
	}
}

// asked returns the peer of a remote to ask for payload.
func (n *Node) asked(to Remote, payload []byte) (*peer, error) {
	if len(payload) > n.cfg.maxMessage {
		return nil, fmt.Errorf("cluster: request of %d bytes to %s: %w", len(payload), to, ErrMessageTooLarge)
	}
	p := n.remotes.get(to.key())
	if p == nil {
		if n.ctx.Err() != nil {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("cluster: request to %s: %w", to, ErrUnknownRemote)
	}
	return p, nil
}

// failed is the error of a request to p that could not be queued.
func (n *Node) failed(to Remote, p *peer, err error) error {
	if p.convContext().Err() != nil {
		return n.gone(to, p)
	}
	return fmt.Errorf("cluster: request to %s: %w", to, err)
}

// gone is the error of a request to p, which was removed.
func (n *Node) gone(to Remote, p *peer) error {
	if n.ctx.Err() != nil {
		return ErrClosed
	}
	return fmt.Errorf("cluster: request to %s: %w", to, context.Cause(p.convContext()))
}

// requestTag is a Request frame for id.
func requestTag(id uint64) []byte {
	b := wire.AppendHeader(make([]byte, 0, wire.HeaderSize+wire.ReplySize), wire.KindRequest, wire.RequestSize)
	return wire.Request{ID: id}.Append(b)
}

// replyTag is a Reply frame for id.
func replyTag(id uint64, status byte) []byte {
	b := wire.AppendHeader(make([]byte, 0, wire.HeaderSize+wire.ReplySize), wire.KindReply, wire.ReplySize)
	return wire.Reply{ID: id, Status: status}.Append(b)
}

// cancel tells p's remote that nobody waits for the answer to request id.
func (p *peer) cancel(id uint64) {
	p.control(wire.KindCancel, wire.Cancel{ID: id}.Append(make([]byte, 0, wire.RequestSize)))
}

// sendTagged queues data for p behind the tag frame, as sendWithin does.
func (p *peer) sendTagged(ctx context.Context, tag, data []byte) error {
	w := sendWait{ctx: ctx, timeout: p.n.networkTimeout(), tag: tag}
	err := p.send(data, &w)
	w.stop()
	return err
}

// peerConv is a connection's side of requests.
type peerConv struct {
	once   sync.Once
	ctx    context.Context // ends when the remote is removed, its cause saying how
	cancel context.CancelCauseFunc
	tag    *tag // used by the reader only: the tag of the payload it reads next

	mu      sync.Mutex          // guards running
	running map[uint64]*handler // the handlers of the remote's requests that run, by request id
}

// handler is a running handler of one request, which a Cancel ends.
type handler struct{ cancel context.CancelFunc }

// readCancel reads a Cancel frame of size bytes: the remote gave up on a
// request, and the context of its handler ends, if it runs.
func (p *peer) readCancel(size int) error {
	b, err := p.peekBody(wire.KindCancel, size, wire.RequestSize)
	if err != nil {
		return err
	}
	f, err := wire.ParseCancel(b)
	if err != nil {
		return protocolError{err}
	}
	p.br.Discard(size)
	id := f.ID
	c := &p.conv
	c.mu.Lock()
	h := c.running[id]
	c.mu.Unlock()
	if h != nil {
		h.cancel()
	}
	return nil
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

// readTag reads a Request or Reply frame of size bytes, the tag of the
// payload that follows it.
func (p *peer) readTag(k wire.Kind, size int) error {
	switch {
	case p.getState() == gotBye:
		return protocolError{fmt.Errorf("%s frame after a goodbye", k)}
	case p.conv.tag != nil:
		return protocolError{fmt.Errorf("%s frame after a %s frame, before its payload", k, p.conv.tag.kind)}
	case p.in.total > 0:
		return protocolError{fmt.Errorf("%s frame inside a fragmented payload", k)}
	}
	t, err := p.parseTag(k, size)
	if err != nil {
		return err
	}
	p.conv.tag = t
	return nil
}

// takeTag returns the tag of the payload just read, if any.
func (c *peerConv) takeTag() *tag {
	t := c.tag
	c.tag = nil
	return t
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
		body, err = n.events.handleRequest(context.WithValue(ctx, nodeKey{}, n), h, req)
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

// parseTag reads the body of a Request or Reply frame of size bytes.
func (p *peer) parseTag(k wire.Kind, size int) (*tag, error) {
	want := wire.RequestSize
	if k == wire.KindReply {
		want = wire.ReplySize
	}
	b, err := p.peekBody(k, size, want)
	if err != nil {
		return nil, err
	}
	t := &tag{kind: k}
	if k == wire.KindReply {
		r, err := wire.ParseReply(b)
		t.id, t.status = r.ID, r.Status
		if err != nil {
			return nil, protocolError{err}
		}
	} else {
		r, err := wire.ParseRequest(b)
		t.id = r.ID
		if err != nil {
			return nil, protocolError{err}
		}
	}
	p.br.Discard(size)
	return t, nil
}
