package clustertest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/peerweave/peerweave/cluster"
)

// Recorder keeps what a node's callbacks report: its events, "+addr" for a
// remote added, "-addr" for a remote removed and "~addr k=v,k=v" for a
// remote's new tags (sorted by key), and the lists that RemoteChanged gave.
type Recorder struct {
	signal Signal // notified on every callback

	mu      sync.Mutex
	events  []string
	changed [][]cluster.Remote
}

// NewRecorder returns a recorder that no node reports to yet: see Options.
func NewRecorder() *Recorder { return &Recorder{} }

// Options returns the options that make a node report to r from the start.
func (r *Recorder) Options() []cluster.Option {
	return []cluster.Option{
		cluster.WithRemoteAdded(r.added),
		cluster.WithRemoteRemoved(r.removed),
		cluster.WithRemoteChanged(r.listed),
		cluster.WithRemoteTagsChanged(r.tagged),
	}
}

// Record makes n report to a new recorder from now on, through its callback
// setters.
func Record(n *cluster.Node) *Recorder {
	r := NewRecorder()
	n.RemoteAdded(r.added)
	n.RemoteRemoved(r.removed)
	n.RemoteChanged(r.listed)
	n.RemoteTagsChanged(r.tagged)
	return r
}

func (r *Recorder) added(x cluster.Remote)   { r.event("+" + x.String()) }
func (r *Recorder) removed(x cluster.Remote) { r.event("-" + x.String()) }

func (r *Recorder) tagged(x cluster.Remote, tags map[string]string) {
	r.event("~" + x.String() + " " + TagString(tags))
}

// TagString returns tags as a Recorder writes them: "k=v,k=v", sorted by key.
func TagString(tags map[string]string) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		s = append(s, k+"="+tags[k])
	}
	return strings.Join(s, ",")
}

func (r *Recorder) event(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.signal.Notify()
}

func (r *Recorder) listed(rs []cluster.Remote) {
	r.mu.Lock()
	r.changed = append(r.changed, rs)
	r.mu.Unlock()
	r.signal.Notify()
}

// Events returns the events so far, in order.
func (r *Recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Changed returns the lists that RemoteChanged gave so far, in order.
func (r *Recorder) Changed() [][]cluster.Remote {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changed)
}

// Count returns how many events e the recorder has.
func (r *Recorder) Count(e string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return count(r.events, e)
}

func count(events []string, e string) int {
	c := 0
	for _, x := range events {
		if x == e {
			c++
		}
	}
	return c
}

// History returns the events about the remote at addr.
func (r *Recorder) History(addr string) []string { return History(r.Events(), addr) }

// History returns the events, "+addr" or "-addr", about the remote at addr.
func History(events []string, addr string) []string {
	var h []string
	for _, e := range events {
		if (e[0] == '+' || e[0] == '-') && e[1:] == addr {
			h = append(h, e)
		}
	}
	return h
}

// WaitEvents waits until the recorder has at least the given number of each
// event.
func (r *Recorder) WaitEvents(t testing.TB, want map[string]int) {
	t.Helper()
	r.signal.Wait(t, WaitFor, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for e, c := range want {
			if count(r.events, e) < c {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("want at least the events %v, have %v", want, r.Events()) })
}

// WaitChanged waits until RemoteChanged has reported at least count lists.
func (r *Recorder) WaitChanged(t testing.TB, count int) {
	t.Helper()
	r.signal.Wait(t, WaitFor, func() bool { return len(r.Changed()) >= count }, func() string {
		return fmt.Sprintf("want at least %d lists from RemoteChanged, have %v", count, r.Changed())
	})
}
