package cluster

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// RemoteAdded sets f to be called with each remote the node connects to. It
// replaces any function set before; nil removes it.
//
// Callbacks run one at a time, on a goroutine of the node, in the order the
// events happened and never while the node holds a lock, so they may call
// any method but Close. For each remote, RemoteRemoved comes before a later
// RemoteAdded of the same remote, and RemoteChanged follows every
// RemoteAdded and RemoteRemoved. A slow callback delays the ones after it,
// not the node.
func (n *Node) RemoteAdded(f func(r Remote)) { n.events.added.Store(&f) }

// RemoteRemoved sets f to be called with each remote the node disconnects
// from, gracefully or not. See RemoteAdded for how callbacks run.
func (n *Node) RemoteRemoved(f func(r Remote)) { n.events.removed.Store(&f) }

// RemoteChanged sets f to be called with the full list of remotes after each
// remote is added or removed. See RemoteAdded for how callbacks run.
func (n *Node) RemoteChanged(f func(rs []Remote)) { n.events.changed.Store(&f) }

// event is one change of membership: a remote added or removed, and the
// remotes known after the change (a published map, which never changes, so
// that the list is built only if a RemoteChanged callback wants it).
type event struct {
	added   bool
	remote  Remote
	remotes map[netip.AddrPort]*peer
}

// events runs callbacks on a goroutine of its own, in order.
type events struct {
	added   atomic.Pointer[func(Remote)]
	removed atomic.Pointer[func(Remote)]
	changed atomic.Pointer[func([]Remote)]

	mu      sync.Mutex // guards queue and stopped
	queue   []event
	stopped bool
	wake    chan struct{} // capacity 1
	done    chan struct{} // closed when the dispatcher has returned
}

func (e *events) start() {
	e.wake = make(chan struct{}, 1)
	e.done = make(chan struct{})
	go e.run()
}

// push queues an event. The node calls it with its lock held, so events
// queue in the order membership changed.
func (e *events) push(ev event) {
	e.mu.Lock()
	e.queue = append(e.queue, ev)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// stop makes the dispatcher deliver what is queued, then return, and waits
// for it.
func (e *events) stop() {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.done
}

func (e *events) run() {
	defer close(e.done)
	for range e.wake {
		e.mu.Lock()
		batch, stopped := e.queue, e.stopped
		e.queue = nil
		e.mu.Unlock()
		for _, ev := range batch {
			e.deliver(ev)
		}
		if stopped {
			return
		}
	}
}

func (e *events) deliver(ev event) {
	f := e.removed.Load()
	if ev.added {
		f = e.added.Load()
	}
	if f != nil && *f != nil {
		(*f)(ev.remote)
	}
	if g := e.changed.Load(); g != nil && *g != nil {
		(*g)(remoteList(ev.remotes))
	}
}
