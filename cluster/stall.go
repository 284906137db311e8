package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// A remote that answers health checks but keeps its window shut, with data
// waiting for it, is suspended: Broadcast stops waiting for its queue,
// Query and Request to it fail at once with ErrStalled, and the requests
// that wait for its answer get ErrStalled too. It stays a remote: its
// window may be shut only because its application does not read Inbox,
// and the package promises that this removes nobody. It is resumed as soon
// as its window opens again.
//
// The link notes when data begins to wait for the window (link.Stalled);
// the reader, which reads the remote's pongs and Window frames, suspends
// and resumes, so that the events of both come in order with no lock.

// stallIntervals is how many healthy intervals, besides the network
// timeout, a remote's window may stay shut, with data waiting for it,
// before the next health check it answers suspends it. The network timeout
// is the margin, as for silence, that keeps a live remote slowed by a
// loaded machine from being suspended where the healthy interval is short.
const stallIntervals = 2

// stallLimit is how long a remote's window may stay shut, with data
// waiting for it, before the next health check it answers suspends it.
func (n *Node) stallLimit() time.Duration {
	return stallIntervals*time.Duration(n.healthy.Load()) + n.networkTimeout()
}

// stall is a peer's side of suspension.
type stall struct {
	// calls holds the context that the calls to the remote wait on (see
	// callContext): the reader replaces it when it resumes the remote.
	calls atomic.Pointer[callEpoch]
	// suspended, and at, when: the reader's only.
	suspended bool
	at        time.Time
}

// callEpoch is a context of the calls to a remote, and what ends it.
type callEpoch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// newCallEpoch returns a context of calls to p that ends with p's
// conversations, or when p is suspended.
func (p *peer) newCallEpoch() *callEpoch {
	ctx, cancel := context.WithCancelCause(p.convContext())
	return &callEpoch{ctx, cancel}
}

// callContext returns the context that the calls to p wait on: it ends
// when p is removed, with the cause of its conversations' end, or
// suspended, with an error that matches ErrStalled. One that has ended is
// replaced when p is resumed, so a call takes it once, when it starts.
func (p *peer) callContext() context.Context { return p.callEpoch().ctx }

// callEpoch returns the current context of the calls to p, made on first
// use.
func (p *peer) callEpoch() *callEpoch {
	if e := p.stall.calls.Load(); e != nil {
		return e
	}
	e := p.newCallEpoch()
	if !p.stall.calls.CompareAndSwap(nil, e) {
		e.cancel(nil) // another call made one first
		return p.stall.calls.Load()
	}
	return e
}

// stallCause returns the error that suspended p, or nil if p is not
// suspended.
func (p *peer) stallCause() error {
	ctx := p.callContext()
	if ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		return cause
	}
	return nil
}

// waitErr is the error of a wait for queue space under life, a
// callContext, that failed with err: why life ended, if it did, rather than
// the context's error.
func waitErr(life context.Context, err error) error {
	if err == nil || life.Err() == nil {
		return err
	}
	if cause := context.Cause(life); errors.Is(cause, ErrStalled) {
		return cause
	}
	return errLeft
}

// callEnded is the error of a call to p, or of one about to start, once
// life, the callContext it took, has ended: p was removed or suspended.
func (n *Node) callEnded(to Remote, p *peer, life context.Context) error {
	if p.convContext().Err() != nil {
		return n.gone(to, p)
	}
	return fmt.Errorf("cluster: request to %s: %w", to, context.Cause(life))
}

// abandon is callEnded for request id, which the caller has taken: if p
// was suspended, not removed, it also tells p that nobody waits for the
// answer, as a caller whose context ended does.
func (n *Node) abandon(to Remote, p *peer, id uint64, life context.Context) error {
	if p.convContext().Err() == nil {
		p.cancel(id)
	}
	return n.callEnded(to, p, life)
}

// windowGrew follows a Window frame: if it let the data that waited for
// p's window go, p is resumed if it was suspended. The reader calls it.
func (p *peer) windowGrew() {
	if p.stall.suspended && p.link.Stalled() == 0 {
		p.resume()
	}
}

// checkStall follows a pong: it suspends p if its window has stayed shut,
// with data waiting, for stallLimit. The reader calls it.
func (p *peer) checkStall() {
	s := &p.stall
	shut := p.link.Stalled()
	if s.suspended || shut == 0 || p.convContext().Err() != nil {
		return
	}
	if shut < p.n.stallLimit() {
		return
	}
	count, bytes := p.link.Queued()
	cause := fmt.Errorf("window shut for %v with %d messages waiting: %w", shut, count, ErrStalled)
	s.suspended, s.at = true, time.Now()
	p.callEpoch().cancel(cause)
	p.n.emit(Event{Kind: EventSuspended, Addr: p.key, Err: cause, Count: count,
		Bytes: bytes, Wait: shut})
}

// resume ends p's suspension: calls to it wait for its answers again.
func (p *peer) resume() {
	s := &p.stall
	s.suspended = false
	if p.convContext().Err() != nil {
		return // removed: nobody calls it any more
	}
	s.calls.Store(p.newCallEpoch())
	p.n.emit(Event{Kind: EventResumed, Addr: p.key, Wait: time.Since(s.at)})
}
