package cluster

import (
	"maps"
	"net/netip"
)

// dispatch is the delivery of the queue of events to the membership
// callbacks, by one goroutine at a time, the dispatcher, one callback at a
// time, in order. events.mu guards it.
//
// A dispatcher is started by NewNode (events.start). Once Close has stopped
// everything else, a dispatcher that runs a callback while callbacks wait
// is relieved: a new dispatcher delivers the rest, so that a callback that
// does not return, such as one that called Close, keeps none of the others
// from running before Close returns. A relieved dispatcher returns when its
// callback does, waited for by nobody; the last one returns once stop was
// called and everything is delivered, closing done.
type dispatch struct {
	batch []event  // taken from queue, delivered from batch[next] on
	next  int      // index in batch of the next event to deliver
	calls []func() // the callbacks of the event taken last that have not started
	// members is the set of remotes after the events taken so far.
	members map[netip.AddrPort]struct{}

	gen      int  // generation of the dispatcher that delivers; the others were relieved
	calling  int  // dispatchers, relieved or not, that run a callback
	inCall   bool // the dispatcher of generation gen runs a callback
	stopped  bool // stop was called
	finished bool // the last dispatcher returned
}

// run delivers callbacks as the dispatcher of generation gen, until it is
// relieved or finished.
func (e *events) run(gen int) {
	for {
		f, ok := e.nextCall(gen)
		if !ok {
			return
		}
		e.call(gen, f)
	}
}

// nextCall waits for the next callback to run and returns it, or false once
// the dispatcher of generation gen is to return.
func (e *events) nextCall(gen int) (func(), bool) {
	for {
		e.mu.Lock()
		if e.d.gen != gen {
			e.mu.Unlock()
			return nil, false
		}
		if f := e.takeLocked(); f != nil {
			e.d.calling++
			e.d.inCall = true
			e.mu.Unlock()
			return f, true
		}
		if e.d.stopped {
			e.d.finished = true
			e.d.gen++
			e.mu.Unlock()
			close(e.done)
			return nil, false
		}
		e.mu.Unlock()
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

// call runs a callback that nextCall returned to the dispatcher of
// generation gen, unless Close sealed the hooks. The callback counts as
// running from the moment nextCall took it, so that Close sees it.
func (e *events) call(gen int, f func()) {
	entered := e.hooks.enter()
	if entered {
		f()
	}
	e.mu.Lock()
	e.d.calling--
	if e.d.gen == gen {
		e.d.inCall = false
	}
	e.mu.Unlock()
	if entered {
		e.hooks.exit()
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

// state reports, for Close, how many dispatchers run a callback, whether
// the dispatcher is busy otherwise (it has callbacks to run and runs none),
// whether callbacks wait, and whether stop was called.
func (e *events) state() (calling int, busy, work, stopped bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	work = e.workLocked()
	return e.d.calling, work && !e.d.inCall && !e.d.finished, work, e.d.stopped
}

// relieve starts a new dispatcher for the callbacks that wait, if the
// dispatcher runs a callback; the old one returns once its callback has.
func (e *events) relieve() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.d.inCall || !e.workLocked() {
		return
	}
	e.d.gen++
	e.d.inCall = false
	go e.run(e.d.gen)
}
