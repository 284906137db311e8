package status

import (
	"errors"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// DefaultEvents is how many events a Recorder keeps when NewRecorder is
// given no positive size.
const DefaultEvents = 256

// maxTracked bounds the remotes whose send waits and errors a Recorder
// counts, so that a node that meets many addresses over its life keeps
// bounded memory; past it, new addresses go uncounted until others leave.
const maxTracked = 4096

// A Recorder remembers what recently happened inside a node, for its status
// page: the last events, oldest dropped first, and for each remote how
// often a Send waited for room in its queue and when an event about it last
// carried an error. It is a cluster.Observer: give it to the node with
// cluster.WithObserver, so that it hears everything from the start, and to
// the page with WithRecorder.
//
// Health checks (cluster.EventPong) are counted in the remotes' round trips
// that the page shows, not kept as events: one every healthy interval per
// remote would crowd out everything else. A Recorder is safe for concurrent
// use; Observe takes a lock for a moment and does no I/O.
type Recorder struct {
	mu      sync.Mutex // guards the fields below
	ring    []Event    // the last events; ring[next] is the oldest once full
	next    int
	full    bool
	remotes map[string]*trace
	now     func() time.Time
}

// trace is what a Recorder counts of one remote.
type trace struct {
	sendWaits uint64    // EventQueueFull
	waitAt    time.Time // the last of them
	errAt     time.Time // the last event about the remote with an error
}

// NewRecorder returns a Recorder that keeps the last size events, or
// DefaultEvents if size is not positive.
func NewRecorder(size int) *Recorder {
	if size <= 0 {
		size = DefaultEvents
	}
	return &Recorder{
		ring:    make([]Event, size),
		remotes: make(map[string]*trace),
		now:     time.Now,
	}
}

// Observe records e. The node calls it.
func (r *Recorder) Observe(e cluster.Event) {
	if e.Kind == cluster.EventPong {
		return
	}
	failed := failure(e.Err)
	ev := Event{Kind: e.Kind.String(), Text: clip(e.String(), maxText), Error: failed}
	if e.Addr.IsValid() {
		ev.Remote = e.Addr.String()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ev.Time = r.now()
	r.ring[r.next] = ev
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
	if ev.Remote == "" {
		return
	}
	if e.Kind == cluster.EventRemoved && !failed {
		// Gone for good: it left, or this node left it.
		delete(r.remotes, ev.Remote)
		return
	}
	t := r.remotes[ev.Remote]
	if t == nil {
		if len(r.remotes) >= maxTracked {
			return
		}
		t = new(trace)
		r.remotes[ev.Remote] = t
	}
	if e.Kind == cluster.EventQueueFull {
		t.sendWaits++
		t.waitAt = ev.Time
	}
	if failed {
		t.errAt = ev.Time
	}
}

// failure reports whether err, an event's, is a failure: not a goodbye,
// and not a handshake declined as a duplicate of a connection that stands,
// which two nodes that dial each other at once see as a matter of course.
func failure(err error) bool {
	return err != nil && !errors.Is(err, cluster.ErrLocalLeave) && !errors.Is(err, cluster.ErrRemoteLeave) &&
		!errors.Is(err, cluster.ErrRejected)
}

// events returns the recorded events, newest first.
func (r *Recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	out := make([]Event, 0, n)
	for i := range n {
		out = append(out, r.ring[(r.next-1-i+len(r.ring))%len(r.ring)])
	}
	return out
}

// traceOf returns what r counted of the remote at addr.
func (r *Recorder) traceOf(addr string) trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.remotes[addr]; t != nil {
		return *t
	}
	return trace{}
}
