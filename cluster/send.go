package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Send sends the payload to the specified remote.
//
// Send queues the payload for the remote's connection and returns; the
// connection's writer, a goroutine that runs while there is something to
// write, writes whatever is queued, as far as the remote's window allows
// (see WithReceiveWindow), so messages sent in a burst share system calls. Messages to one remote arrive in the order they were sent.
// The payload is copied: the caller may reuse data at once.
//
// If the remote's queue is full (see WithSendQueueSize), because the network
// is slower than the sender or the remote's application is not reading its
// Inbox, Send waits for room, at most the network timeout, then fails with
// ErrTimeout; the remote stays connected, and what was queued before is
// still delivered. It fails with ErrUnknownRemote for a remote the node is
// not connected to, and with ErrMessageTooLarge for a payload over the
// maximum message size. A nil error does not prove delivery: if the
// connection breaks before the payload is written, the remote is removed,
// RemoteRemoved fires, and a warning says how many messages were lost.
func (n *Node) Send(to Remote, data []byte) error {
	return n.SendContext(context.Background(), to, data)
}

// SendContext is Send with a context that can cut short its wait for queue
// space.
func (n *Node) SendContext(ctx context.Context, to Remote, data []byte) error {
	if len(data) > n.cfg.maxMessage {
		return fmt.Errorf("cluster: send %d bytes to %s: %w", len(data), to, ErrMessageTooLarge)
	}
	p := n.remotes.get(to.key())
	if p == nil {
		if n.ctx.Err() != nil {
			return ErrClosed
		}
		return fmt.Errorf("cluster: send to %s: %w", to, ErrUnknownRemote)
	}
	if sabotageDrop() {
		return nil
	}
	if err := p.sendWithin(ctx, data); err != nil {
		return fmt.Errorf("cluster: send to %s: %w", to, err)
	}
	return nil
}

// Broadcast sends the supplied message to every remote known by this node.
//
// It queues the message for each remote as Send does. Remotes whose queue
// is full are waited for at once, not one after the other, so a slow or
// stalled remote delays Broadcast by at most the network timeout, however
// many there are, and the others get the message without delay. Failures
// are logged at debug level; the affected remotes are removed as Send
// describes.
func (n *Node) Broadcast(data []byte) {
	if len(data) > n.cfg.maxMessage {
		n.emit(Event{Kind: EventBroadcastFailed, Bytes: len(data), Err: ErrMessageTooLarge})
		return
	}
	var wg sync.WaitGroup
	n.remotes.each(func(p *peer) {
		w := sendWait{ctx: noWait, timeout: time.Hour}
		err := p.send(data, &w)
		w.stop()
		if errors.Is(err, errNoWait) {
			wg.Go(func() { n.broadcastTo(p, data) })
		} else if err != nil {
			n.emit(Event{Kind: EventBroadcastFailed, Addr: p.key, Bytes: len(data), Err: err})
		}
	})
	wg.Wait()
}

// broadcastTo queues data for p, whose queue was full, as Send does.
func (n *Node) broadcastTo(p *peer, data []byte) {
	if err := p.sendWithin(context.Background(), data); err != nil {
		n.emit(Event{Kind: EventBroadcastFailed, Addr: p.key, Bytes: len(data), Err: err})
	}
}

// noWait is a context that has ended, with cause errNoWait: a send with it
// queues if there is room and fails at once if not.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errNoWait)
	return ctx
}()

var errNoWait = errors.New("send queue full")

// sendWithin queues data for p, waiting for queue space at most the network
// timeout, or until ctx ends.
func (p *peer) sendWithin(ctx context.Context, data []byte) error {
	w := sendWait{ctx: ctx, timeout: p.n.networkTimeout()}
	err := p.send(data, &w)
	w.stop()
	if w.timer != nil {
		p.n.emit(Event{Kind: EventQueueFull, Addr: p.key, Bytes: len(data), Wait: time.Since(w.since), Err: err})
	}
	return err
}

// sendWait bounds a Send's wait for queue space. Its timer starts on the first
// wait, so a Send that does not wait costs no timer.
type sendWait struct {
	ctx     context.Context
	timeout time.Duration
	timer   *time.Timer
	since   time.Time // when the timer started
	tag     []byte    // a Request or Reply frame queued with the payload, just before it (request.go)
}

// until waits for ready, and fails if gone closes, ctx ends or time runs out.
func (w *sendWait) until(ready, gone <-chan struct{}) error {
	if w.timer == nil {
		// since first: the timer fires at least the timeout after it.
		w.since = time.Now()
		w.timer = time.NewTimer(w.timeout)
	}
	select {
	case <-ready:
		return nil
	case <-gone:
		return errLeft
	case <-w.ctx.Done():
		return ctxErr(w.ctx)
	case <-w.timer.C:
		return fmt.Errorf("queue full for %v: %w", w.timeout, ErrTimeout)
	}
}

func (w *sendWait) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}
