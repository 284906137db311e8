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
// waits for every handler to return, so a handler that waits must give up
// when ctx ends.
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
