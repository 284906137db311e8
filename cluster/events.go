package cluster

import (
	"maps"
	"net/netip"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
)

// RemoteAdded sets f to be called with each remote the node connects to. It
// replaces any function set before; nil removes it. A function set here
// hears only of what happens after it is set: a remote that connected before
// is not reported. WithRemoteAdded sets it before the node listens, so that
// it misses nothing.
//
// Callbacks run one at a time, on a goroutine of the node, in the order the
// events happened and never while the node holds a lock, so they may call
// any method, Close included. For each remote, RemoteRemoved comes before a
// later RemoteAdded of the same remote, and RemoteChanged follows every
// RemoteAdded and RemoteRemoved. A slow callback delays the ones after it,
// not the node; events wait for it in a queue without bound.
func (n *Node) RemoteAdded(f func(r Remote)) { n.events.added.Store(&f) }

// RemoteRemoved sets f to be called with each remote the node disconnects
// from, gracefully or not. See RemoteAdded for how callbacks run and what a
// late setter misses; WithRemoteRemoved sets it from the start.
func (n *Node) RemoteRemoved(f func(r Remote)) { n.events.removed.Store(&f) }

// RemoteChanged sets f to be called with the full list of remotes, sorted by
// address, after each remote is added or removed. See RemoteAdded for how
// callbacks run and what a late setter misses; WithRemoteChanged sets it from
// the start.
func (n *Node) RemoteChanged(f func(rs []Remote)) { n.events.changed.Store(&f) }

// event is one change of membership, a remote added or removed, or of a
// remote's tags (tagged).
type event struct {
	added  bool
	key    netip.AddrPort
	tagged bool
	tags   map[string]string // the remote's new tags, if tagged; never changed
}

// events runs callbacks on a goroutine of its own, in order.
type events struct {
	added   atomic.Pointer[func(Remote)]
	removed atomic.Pointer[func(Remote)]
	changed atomic.Pointer[func([]Remote)]
	// tagsChanged is the RemoteTagsChanged callback (tags.go).
	tagsChanged atomic.Pointer[func(Remote, map[string]string)]

	mu      sync.Mutex // guards queue and stopped
	queue   []event
	stopped bool
	wake    chan struct{} // capacity 1
	done    chan struct{} // closed when the dispatcher has returned

	// busy is set while the dispatcher runs a callback (see calledBack).
	busy    atomic.Bool
	members map[netip.AddrPort]struct{} // remotes after the events delivered; dispatcher only
}

func (e *events) start() {
	e.wake = make(chan struct{}, 1)
	e.done = make(chan struct{})
	e.members = make(map[netip.AddrPort]struct{})
	go e.run()
}

// push queues an event. The node calls it with its lock held, so events
// queue in the order membership changed.
func (e *events) push(ev event) {
	e.mu.Lock()
	e.queue = append(e.queue, ev)
	e.mu.Unlock()
	e.signal()
}

func (e *events) signal() {
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
	e.signal()
	<-e.done
}

// calledBack reports whether its caller runs inside a callback of this
// node, which Close must not wait for: the dispatcher is in a callback, and
// the caller's own stack holds the frame that calls callbacks. The stack is
// the state that tells the caller apart, with no goroutine id: only the
// dispatcher has that frame, and a node's dispatcher is in a callback only
// while busy. (A callback of another node that calls Close while this
// node's dispatcher is in a callback too is taken for this node's: Close
// then does not wait for this node's callbacks, only for its shutdown.) It
// costs a walk of the stack, once per Close.
func (e *events) calledBack() bool {
	if !e.busy.Load() {
		return false
	}
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function == callbackFrame {
			return true
		}
		if !more {
			return false
		}
	}
}

// callbackFrame is the function that the dispatcher calls every callback
// from, as runtime.Frame names it.
var callbackFrame = runtime.FuncForPC(reflect.ValueOf((*events).call).Pointer()).Name()

// call runs a callback on the dispatcher. It is not inlined, so that its
// frame is on the stack of every callback (calledBack).
//
//go:noinline
func (e *events) call(f func()) {
	e.busy.Store(true)
	defer e.busy.Store(false)
	f()
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
	if ev.tagged {
		_, member := e.members[ev.key]
		if f := e.tagsChanged.Load(); member && f != nil && *f != nil {
			e.call(func() { (*f)(remoteOf(ev.key), maps.Clone(ev.tags)) })
		}
		return
	}
	f := e.removed.Load()
	if ev.added {
		e.members[ev.key] = struct{}{}
		f = e.added.Load()
	} else {
		delete(e.members, ev.key)
	}
	if f != nil && *f != nil {
		e.call(func() { (*f)(remoteOf(ev.key)) })
	}
	if g := e.changed.Load(); g != nil && *g != nil {
		keys := make([]netip.AddrPort, 0, len(e.members))
		for k := range e.members {
			keys = append(keys, k)
		}
		e.call(func() { (*g)(remoteList(keys)) })
	}
}
