package cluster

import (
	"net/netip"
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
// not the node; events wait for it in a queue that holds, besides the
// remotes added and removed, at most the newest tags of each remote. Close
// does not wait for a callback that was running when it was called (see
// Close): the callbacks queued behind one that has not returned once all
// else has stopped are not called.
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

// events is the node's pipeline of events, and the gate of its hooks
// (hooks.go). Each Event goes, on the goroutine that did the work, to the
// statistics, the logger and the Observers (Node.emit); each change of
// membership and of a remote's tags also goes, in the order it happened, to
// a queue that a goroutine of its own, the dispatcher, delivers to the
// membership callbacks one at a time (dispatch.go).
type events struct {
	added   atomic.Pointer[func(Remote)]
	removed atomic.Pointer[func(Remote)]
	changed atomic.Pointer[func([]Remote)]
	// tagsChanged is the RemoteTagsChanged callback (tags.go).
	tagsChanged atomic.Pointer[func(Remote, map[string]string)]

	// hooks counts the hooks that run, callbacks and others, and keeps
	// them from starting after Close.
	hooks hookGate

	mu    sync.Mutex // guards queue, tagsAt and the dispatch state d
	queue []event
	// tagsAt indexes the tags event of each remote that waits in queue
	// after the remote's last added or removed event there: a newer
	// update of its tags replaces it, so that the queue holds at most one
	// tags event per remote and a flood of updates cannot delay the
	// events behind it.
	tagsAt map[netip.AddrPort]int
	d      dispatch
	wake   chan struct{} // capacity 1: the queue has events, or stop was called
	done   chan struct{} // closed when the dispatcher returns
}

func (e *events) start() {
	e.wake = make(chan struct{}, 1)
	e.done = make(chan struct{})
	e.d.members = make(map[netip.AddrPort]struct{})
	e.tagsAt = make(map[netip.AddrPort]int)
	go e.run()
}

// push queues an event. The node calls it with its lock held, so events
// queue in the order membership changed. A tags event replaces the one of
// the same remote still waiting, if any.
func (e *events) push(ev event) {
	e.mu.Lock()
	i, pending := e.tagsAt[ev.key]
	switch {
	case ev.tagged && pending:
		e.queue[i] = ev
		e.mu.Unlock()
		return
	case ev.tagged:
		e.tagsAt[ev.key] = len(e.queue)
	default:
		delete(e.tagsAt, ev.key)
	}
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
