package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
)

// A Query is a request made of several remotes at once (see Node.Query):
// their answers arrive on Answers as they come.
type Query struct {
	answers chan Answer // room for one answer of every remote asked

	mu      sync.Mutex // guards left, stopCtx and the stop of each call
	left    int        // remotes that have not answered
	calls   []*call    // set up by Node.Query, then read only
	stopCtx func() bool
}

// Answer is what one remote asked by a query answered: the payload of its
// handler's reply, or why there is none, the errors a Request returns (the
// context's error when the query's context ended before this remote
// answered).
type Answer struct {
	From    Remote
	Payload []byte
	Err     error
}

// Query sends payload as a request (see Request) to each of the remotes to,
// or, without any, to every remote of the node, and returns at once with
// the Query on which their answers arrive. A remote the node does not know
// answers ErrUnknownRemote at once.
//
// Every remote asked gives exactly one Answer, as soon as its handler's
// reply arrives or it fails (it left, was lost or has no handler), and
// Answers is closed once every one has: a query is over when the last
// remote has answered, not when its context ends. When ctx ends first, every
// remote still to answer gives an Answer with the context's error, and the
// node forgets their requests. Query queues the requests one remote after
// the other, as Broadcast does: a remote whose send queue is full is asked
// as soon as it has room, on a goroutine of the node's, while Query
// returns; it answers the Send's error (ErrTimeout) if it has none within
// the network timeout. Query keeps a copy of payload for those, so the
// caller may reuse payload once Query returns. A remote that the node has suspended
// because its window stays shut (see ErrStalled) answers ErrStalled at
// once, and so does one still to answer when it is suspended.
func (n *Node) Query(ctx context.Context, payload []byte, to ...Remote) *Query {
	var ps []*peer
	var unknown []Answer
	if len(to) == 0 {
		ps = n.remotes.peers()
	}
	for _, r := range to {
		if p, err := n.asked(r, payload); err != nil {
			unknown = append(unknown, Answer{From: r, Err: err})
		} else {
			ps = append(ps, p)
		}
	}
	q := &Query{answers: make(chan Answer, len(ps)+len(unknown)), left: len(ps) + len(unknown)}
	if q.left == 0 {
		close(q.answers) // nobody to ask
		return q
	}
	for _, a := range unknown {
		q.answer(a)
	}
	q.calls = make([]*call, 0, len(ps))
	var held []byte // payload, copied for the requests that wait for room
	for _, p := range ps {
		from := remoteOf(p.key)
		if len(payload) > n.cfg.maxMessage {
			q.answer(Answer{From: from, Err: fmt.Errorf("cluster: query of %d bytes: %w", len(payload), ErrMessageTooLarge)})
			continue
		}
		if ctx.Err() != nil {
			q.answer(Answer{From: from, Err: fmt.Errorf("cluster: query of %s: %w", from, ctxErr(ctx))})
			continue
		}
		life := p.callContext() // ends when p is removed or suspended (stall.go)
		if life.Err() != nil {
			q.answer(Answer{From: from, Err: n.callEnded(from, p, life)})
			continue
		}
		cl := &call{p: p, q: q}
		id := n.conv.open(cl)
		q.mu.Lock()
		cl.stop = context.AfterFunc(life, func() {
			if n.conv.take(id, p) != nil {
				q.answer(Answer{From: from, Err: n.abandon(from, p, id, life)})
			}
		})
		q.mu.Unlock()
		q.calls = append(q.calls, cl)
		err := p.sendTagged(noWait, requestTag(id), payload)
		if errors.Is(err, errNoWait) {
			// p's queue is full: wait for room on a goroutine of the
			// node's, so that Query returns at once and the other
			// remotes are asked meanwhile, as Broadcast does.
			if held == nil {
				held = bytes.Clone(payload) // the caller may reuse payload once Query returns
			}
			if !n.goWhileOpen(&n.wg, func() { q.ask(ctx, life, cl, held) }) {
				q.asked(cl, ErrClosed)
			}
			continue
		}
		q.asked(cl, err)
	}
	stop := context.AfterFunc(ctx, func() {
		for _, cl := range q.calls {
			if n.conv.take(cl.id, cl.p) != nil {
				q.unwatch(cl)
				cl.p.cancel(cl.id)
				from := remoteOf(cl.p.key)
				q.answer(Answer{From: from, Err: fmt.Errorf("cluster: query of %s: %w", from, ctxErr(ctx))})
			}
		}
	})
	q.mu.Lock()
	q.stopCtx = stop
	over := q.left == 0
	q.mu.Unlock()
	if over {
		stop()
	}
	return q
}

// ask queues the request of cl for its remote, waiting for room in its
// queue for at most the network timeout, until ctx ends, or until life,
// the call's context, ends: the remote was removed or suspended, and the
// call answered so.
func (q *Query) ask(ctx, life context.Context, cl *call, payload []byte) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(life, cancel)()
	q.asked(cl, cl.p.sendTagged(ctx, requestTag(cl.id), payload))
}

// asked takes the outcome of queueing the request of cl: on success its
// answer is to come on the remote's connection; on failure, unless the
// request was answered otherwise meanwhile (its remote lost, ctx ended),
// the failure is its answer.
func (q *Query) asked(cl *call, err error) {
	n, p := cl.p.n, cl.p
	if err == nil {
		p.relieve() // the answer comes on p's connection
		return
	}
	if n.conv.take(cl.id, p) != nil {
		q.unwatch(cl)
		q.answer(Answer{From: remoteOf(p.key), Err: n.failed(remoteOf(p.key), p, err)})
	}
}

// unwatch stops watching for the removal of the remote of cl, which ended.
func (q *Query) unwatch(cl *call) {
	q.mu.Lock()
	stop := cl.stop
	q.mu.Unlock()
	stop()
}

// answer records one remote's answer; the last closes Answers.
func (q *Query) answer(a Answer) {
	q.mu.Lock()
	q.answers <- a // never blocks: there is room for every remote's
	q.left--
	var stop func() bool
	if q.left == 0 {
		close(q.answers)
		stop = q.stopCtx
	}
	q.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Answers returns the channel on which the remotes' answers arrive, each
// remote's once, in the order they come. It is closed when every remote
// asked has answered, or the query's context has ended.
func (q *Query) Answers() <-chan Answer { return q.answers }

// Wait waits for the query to end and returns the answers that Answers had
// not yet given, in the order they came.
func (q *Query) Wait() []Answer {
	var as []Answer
	for a := range q.answers {
		as = append(as, a)
	}
	return as
}
