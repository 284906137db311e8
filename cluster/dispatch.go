package cluster

import (
	"maps"
	"net/netip"
)

// dispatch is the delivery of the queue of events to the membership
// callbacks by one goroutine, the dispatcher, one callback at a time, in
// order. events.mu guards it. The dispatcher is started by NewNode
// (events.start) and returns once stop was called and everything is
// delivered, or skipped once Close sealed the hooks; it closes done then.
// Close waits for it, but not for a callback that ran when Close was called
// (hooks.go): the dispatcher then ends on its own once that callback
// returns, waited for by nobody.
type dispatch struct {
	batch []event  // taken from queue, delivered from batch[next] on
	next  int      // index in batch of the next event to deliver
	calls []func() // the callbacks of the event taken last that have not started
	// members is the set of remotes after the events taken so far.
	members map[netip.AddrPort]struct{}

	inCall  bool // the dispatcher runs a callback, or is about to
	stopped bool // stop was called
}

// run delivers callbacks until stop was called and everything is
// delivered.
func (e *events) run() {
	defer close(e.done)
	for {
		f, ok := e.nextCall()
		if !ok {
			return
		}
		e.call(f)
	}
}

// nextCall waits for the next callback to run and returns it, or false once
// stop was called and none is left.
func (e *events) nextCall() (func(), bool) {
	for {
		e.mu.Lock()
		if f := e.takeLocked(); f != nil {
			e.d.inCall = true
			e.mu.Unlock()
			return f, true
		}
		stopped := e.d.stopped
		e.mu.Unlock()
		if stopped {
			return nil, false
		}
		<-e.wake
	}
}

// takeLocked returns the next callback to run, or nil if none waits.
func (e *events) takeLocked() func() {
	for len(e.d.calls) == 0 {
		if e.d.next == len(e.d.batch) {
			e.d.batch, e.d.next = nil, 0
			if len(e.queue) == 0 {
				return nil
			}
			e.d.batch, e.queue = e.queue, nil
			clear(e.tagsAt)
		}
		ev := e.d.batch[e.d.next]
		e.d.batch[e.d.next] = event{}
		e.d.next++
		e.d.calls = e.callsLocked(ev)
	}
	f := e.d.calls[0]
	e.d.calls = e.d.calls[1:]
	return f
}

// callsLocked applies ev to members and returns the callbacks it makes. A
// callback is loaded when it runs, so that one set meanwhile is the one
// called; RemoteChanged's list is the members after ev.
func (e *events) callsLocked(ev event) []func() {
	r := remoteOf(ev.key)
	if ev.tagged {
		if _, member := e.d.members[ev.key]; !member {
			return nil
		}
		return []func(){func() {
			if f := e.tagsChanged.Load(); f != nil && *f != nil {
				(*f)(r, maps.Clone(ev.tags))
			}
		}}
	}
	f := &e.removed
	if ev.added {
		e.d.members[ev.key] = struct{}{}
		f = &e.added
	} else {
		delete(e.d.members, ev.key)
	}
	calls := []func(){func() {
		if f := f.Load(); f != nil && *f != nil {
			(*f)(r)
		}
	}}
	if g := e.changed.Load(); g != nil && *g != nil {
		keys := make([]netip.AddrPort, 0, len(e.d.members))
		for k := range e.d.members {
			keys = append(keys, k)
		}
		calls = append(calls, func() {
			if g := e.changed.Load(); g != nil && *g != nil {
				(*g)(remoteList(keys))
			}
		})
	}
	return calls
}

// call runs a callback that nextCall returned, unless Close sealed the
// hooks. The dispatcher counts as in a call from the moment nextCall took
// it, so that Close sees it busy.
func (e *events) call(f func()) {
	t, ok := e.hooks.enter()
	if ok {
		f()
	}
	e.mu.Lock()
	e.d.inCall = false
	e.mu.Unlock()
	if ok {
		e.hooks.exit(t)
	}
}

// stop makes the dispatcher deliver what is queued, then return. It does
// not wait for it: the dispatcher may be running a hook that called Close.
func (e *events) stop() {
	e.mu.Lock()
	e.d.stopped = true
	e.mu.Unlock()
	e.signal()
	e.hooks.quiet.notify()
}

// workLocked reports whether callbacks wait to be run.
func (e *events) workLocked() bool {
	return len(e.d.calls) > 0 || e.d.next < len(e.d.batch) || len(e.queue) > 0
}

// state reports, for Close, whether the dispatcher is busy (it runs a
// callback or has some to run), and whether stop was called.
func (e *events) state() (busy, stopped bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.d.inCall || e.workLocked(), e.d.stopped
}
