package cluster

import (
	"context"
	"sync"
	"sync/atomic"
)

// Hooks are the user's code that the node calls: the membership callbacks,
// the Observers, the message handler and the request handler. Close follows
// one rule for all of them, wherever it is called from, a hook of this node
// or of another included: it does not wait for a hook that was running when
// it was called (that hook may be its caller), and waits for everything
// else, the hooks that started since included; then it seals the hooks, so
// that none starts once it has returned. A goroutine of the node that runs
// a hook Close did not wait for ends on its own when the hook returns.
//
// The rule needs no goroutine id: each call of Close opens an epoch, and
// each hook is counted in the epoch it started in (hookGate). A call of
// Close waits until no hook of its epoch or a later one runs, shutdown has
// done all but wait for the node's goroutines, and no more of them are
// alive, the dispatcher of events included, than hooks of earlier epochs
// run (stoppedButHooks). The counts do not say which goroutine runs a hook:
// one that runs on a goroutine of the application (an Observer hearing of a
// Send, say) counts as well, and Close may then return while as many
// goroutines of the node finish ending, cancelled by then and starting no
// hook. An Observer that runs on a connection's reader holds up the
// acknowledgement of the goodbye to that remote, which Close then waits for
// up to the network timeout.

// hookGate counts the hooks that run, by the epoch they started in, and
// keeps them from starting once the node is closed. Before Close, entering
// and leaving a hook cost an atomic operation each.
type hookGate struct {
	// state holds the number of hooks that run and started before any
	// Close, in its low bits, and the flags gateSealed and gateClosing.
	state atomic.Int64
	mu    sync.Mutex        // guards epoch and counts; taken only once Close was called
	epoch hookEpoch         // the calls of Close so far
	count map[hookEpoch]int // hooks that run, by epoch, but epoch 0's
	quiet notifier          // told when a hook returns once Close was called
}

// hookEpoch numbers the calls of Close: a hook that starts after the n-th
// call is of epoch n.
type hookEpoch int

const (
	gateSealed  = 1 << 62 // no hook starts any more
	gateClosing = 1 << 61 // Close was called: hooks count by epoch
	gateCount   = gateClosing - 1
)

// enter reports whether a hook may start, and counts it as running if so;
// the caller then calls exit with its epoch once the hook has returned.
func (g *hookGate) enter() (hookEpoch, bool) {
	for {
		v := g.state.Load()
		if v&gateClosing != 0 {
			break
		}
		if g.state.CompareAndSwap(v, v+1) {
			return 0, true
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state.Load()&gateSealed != 0 {
		return 0, false
	}
	if g.count == nil {
		g.count = make(map[hookEpoch]int)
	}
	g.count[g.epoch]++
	return g.epoch, true
}

// exit counts out a hook of epoch e that returned.
func (g *hookGate) exit(e hookEpoch) {
	if e == 0 {
		if g.state.Add(-1)&gateClosing != 0 {
			g.quiet.notify()
		}
		return
	}
	g.mu.Lock()
	if g.count[e]--; g.count[e] == 0 {
		delete(g.count, e)
	}
	g.mu.Unlock()
	g.quiet.notify()
}

// closing opens the epoch of a call of Close and returns it.
func (g *hookGate) closing() hookEpoch {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.epoch++
	g.state.Or(gateClosing)
	return g.epoch
}

// seal keeps every hook from starting from now on.
func (g *hookGate) seal() {
	g.mu.Lock()
	g.state.Or(gateSealed | gateClosing)
	g.mu.Unlock()
}

// running returns how many hooks run that started before epoch e, and how
// many started since.
func (g *hookGate) running(e hookEpoch) (before, since int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	before = int(g.state.Load() & gateCount)
	for k, n := range g.count {
		if k < e {
			before += n
		} else {
			since += n
		}
	}
	return before, since
}

// handleMessage calls the message handler h, unless the node is closed.
func (e *events) handleMessage(h func(Remote, []byte), from Remote, payload []byte) {
	if t, ok := e.hooks.enter(); ok {
		h(from, payload)
		e.hooks.exit(t)
	}
}

// handleRequest calls the request handler h, or fails with ErrClosed once
// the node is closed.
func (e *events) handleRequest(ctx context.Context, h RequestHandler, req *Message) ([]byte, error) {
	t, ok := e.hooks.enter()
	if !ok {
		return nil, ErrClosed
	}
	defer e.hooks.exit(t)
	return h(ctx, req)
}

// group is the goroutines of the node: a sync.WaitGroup that also says how
// many are alive, and tells whoever waits for one to end.
type group struct {
	wg    sync.WaitGroup
	live  atomic.Int64
	ended notifier
}

// Add counts delta goroutines more, as sync.WaitGroup.Add.
func (g *group) Add(delta int) {
	g.live.Add(int64(delta))
	g.wg.Add(delta)
}

// Done counts a goroutine that ended, as sync.WaitGroup.Done.
func (g *group) Done() {
	g.live.Add(-1)
	g.wg.Done()
	g.ended.notify()
}

// Go runs f on a goroutine of the group, as sync.WaitGroup.Go.
func (g *group) Go(f func()) {
	g.Add(1)
	go func() {
		defer g.Done()
		f()
	}()
}

// Wait waits until every goroutine of the group has ended.
func (g *group) Wait() { g.wg.Wait() }

// alive returns how many goroutines of the group have not ended.
func (g *group) alive() int { return int(g.live.Load()) }

// notifier wakes whoever waits for a change.
type notifier struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next change; nil while nobody waits
}

// wait returns a channel closed at the next change.
func (w *notifier) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// notify tells of a change.
func (w *notifier) notify() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}

// awaitStopped waits until the node has stopped but for the hooks that
// were running when it was called (stoppedButHooks), then seals the hooks.
// A hook may start between the last look and the seal: it is counted, and
// awaitStopped looks again.
func (n *Node) awaitStopped() {
	gate := &n.events.hooks
	epoch := gate.closing()
	sealed, shutDown := false, n.shutDown
	for {
		quiet, ended := gate.quiet.wait(), n.wg.ended.wait()
		if n.stoppedButHooks(epoch) {
			if sealed {
				return
			}
			gate.seal()
			sealed = true
			continue
		}
		select {
		case <-quiet:
		case <-ended:
		case <-shutDown:
			shutDown = nil // closed once: wait for the rest
		case <-n.events.done:
		}
	}
}

// stoppedButHooks reports whether the node has stopped, or would have if
// not for the hooks that started before epoch, the epoch of a call of
// Close: shutdown has done all but wait for the node's goroutines
// (n.shutDown), no hook started since, and each goroutine still alive, the
// dispatcher of events included while it is busy, may be one that runs a
// hook started before. Once no goroutine of the node is alive, it waits for
// shutdown to finish (closing Inbox).
func (n *Node) stoppedButHooks(epoch hookEpoch) bool {
	select {
	case <-n.events.done:
		return true
	default:
	}
	select {
	case <-n.shutDown:
	default:
		return false
	}
	before, since := n.events.hooks.running(epoch)
	goroutines := n.wg.alive()
	busy, stopped := n.events.state()
	alive := goroutines
	if busy {
		alive++
	}
	return since == 0 && alive <= before && (goroutines > 0 || stopped)
}
