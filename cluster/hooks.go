package cluster

import (
	"context"
	"sync"
	"sync/atomic"
)

// Hooks are the user's code that the node calls: the membership callbacks,
// the Observers, the message handler and the request handler. Close follows
// one rule for all of them, wherever it is called from, a hook of this node
// or of another included: it never waits for a hook that is running. It
// stops everything else and waits for that, then seals the hooks, so that
// none starts once it has returned; a goroutine of the node that runs a hook
// then ends on its own when the hook returns.
//
// The rule needs no goroutine id: Close counts the hooks that run
// (hookGate) and the goroutines of the node that are alive (group, and the
// dispatchers of events), and stops waiting once shutdown has done all but
// wait for those goroutines, no callback waits to be run (the callbacks
// behind one that runs go to a new dispatcher: dispatch.go), and no more
// goroutines are alive than hooks run (stoppedButHooks). The counts do not
// say which goroutine runs a hook: one that runs on a goroutine of the
// application (an Observer hearing of a Send, say) counts as well, and Close
// may then return while as many goroutines of the node finish ending,
// cancelled by then and starting no hook. An Observer that runs on a
// connection's reader holds up the acknowledgement of the goodbye to that
// remote, which Close then waits for up to the network timeout.

// hookGate counts the hooks that run, and keeps them from starting once the
// node is closed. Entering and leaving a hook cost an atomic add each.
type hookGate struct {
	// state holds the number of hooks that run, in its low bits, and the
	// flags gateSealed and gateClosing.
	state atomic.Int64
	quiet notifier // told when a hook returns while Close waits
}

const (
	gateSealed  = 1 << 62 // no hook starts any more
	gateClosing = 1 << 61 // Close waits: a hook that returns tells quiet
	gateCount   = gateClosing - 1
)

// enter reports whether a hook may start, and counts it as running if so;
// the caller then calls exit once the hook has returned.
func (g *hookGate) enter() bool {
	if g.state.Add(1)&gateSealed != 0 {
		g.exit()
		return false
	}
	return true
}

// exit counts a hook that returned.
func (g *hookGate) exit() {
	if g.state.Add(-1)&gateClosing != 0 {
		g.quiet.notify()
	}
}

// closing makes every hook that returns from now on tell quiet.
func (g *hookGate) closing() { g.state.Or(gateClosing) }

// seal keeps every hook from starting from now on.
func (g *hookGate) seal() { g.state.Or(gateSealed | gateClosing) }

// running returns how many hooks run.
func (g *hookGate) running() int { return int(g.state.Load() & gateCount) }

// handleMessage calls the message handler h, unless the node is closed.
func (e *events) handleMessage(h func(Remote, []byte), from Remote, payload []byte) {
	if e.hooks.enter() {
		h(from, payload)
		e.hooks.exit()
	}
}

// handleRequest calls the request handler h, or fails with ErrClosed once
// the node is closed.
func (e *events) handleRequest(ctx context.Context, h RequestHandler, req *Message) ([]byte, error) {
	if !e.hooks.enter() {
		return nil, ErrClosed
	}
	defer e.hooks.exit()
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

// awaitStopped waits until the node has stopped but for the hooks that run
// (stoppedButHooks), then seals the hooks. A hook may start between the
// last look and the seal: it is counted, and awaitStopped looks again.
func (n *Node) awaitStopped() {
	gate := &n.events.hooks
	gate.closing()
	sealed, shutDown := false, n.shutDown
	for {
		quiet, ended := gate.quiet.wait(), n.wg.ended.wait()
		if n.stoppedButHooks() {
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
// not for the hooks that run: shutdown has done all but wait for the node's
// goroutines (n.shutDown), each goroutine still alive, the dispatchers of
// events included, may be one that runs a hook, and no callback waits. A
// callback that waits behind one that runs is handed to a new dispatcher
// (relieve). Once no goroutine of the node is alive, it waits for shutdown
// to finish (closing Inbox).
func (n *Node) stoppedButHooks() bool {
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
	hooks, goroutines := n.events.hooks.running(), n.wg.alive()
	calling, busy, work, stopped := n.events.state()
	alive := goroutines + calling
	if busy {
		alive++
	}
	if hooks == 0 || alive > hooks || (goroutines == 0 && !stopped) {
		return false
	}
	if work {
		n.events.relieve()
		return false
	}
	return true
}
