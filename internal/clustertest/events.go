package clustertest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

// Events is a cluster.Observer that keeps the events of the node it
// observes, so that a test asserts on what happened inside the node rather
// than on the text of its logs.
type Events struct {
	signal Signal

	mu     sync.Mutex
	events []cluster.Event
}

// NewEvents returns an observer that has seen nothing: see Option.
func NewEvents() *Events { return &Events{} }

// Option returns the option that makes a node report to e from the start.
func (e *Events) Option() cluster.Option { return cluster.WithObserver(e) }

// Observe keeps ev.
func (e *Events) Observe(ev cluster.Event) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	e.signal.Notify()
}

// Find returns the events so far that match.
func (e *Events) Find(match func(cluster.Event) bool) []cluster.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var found []cluster.Event
	for _, ev := range e.events {
		if match(ev) {
			found = append(found, ev)
		}
	}
	return found
}

// Wait waits until an event matches, and returns the first that does.
func (e *Events) Wait(t testing.TB, what string, match func(cluster.Event) bool) cluster.Event {
	t.Helper()
	var found []cluster.Event
	e.signal.Wait(t, WaitFor, func() bool {
		found = e.Find(match)
		return len(found) > 0
	}, func() string { return fmt.Sprintf("no event %s among:\n%s", what, e) })
	return found[0]
}

// WaitRemoved waits until the node removes the remote at addr, and returns
// the event's cause.
func (e *Events) WaitRemoved(t testing.TB, addr fmt.Stringer) error {
	t.Helper()
	return e.Wait(t, "removed "+addr.String(), Is(cluster.EventRemoved, addr)).Err
}

// String lists the events so far, one a line.
func (e *Events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	lines := make([]string, len(e.events))
	for i, ev := range e.events {
		lines[i] = ev.String()
	}
	return strings.Join(lines, "\n")
}

// Is returns a match for events of kind k about the remote at addr, or about
// any remote if addr is nil.
func Is(k cluster.EventKind, addr fmt.Stringer) func(cluster.Event) bool {
	return func(ev cluster.Event) bool {
		return ev.Kind == k && (addr == nil || ev.Addr.String() == addr.String())
	}
}

// Caused returns a match for events that m matches and whose Err matches
// cause.
func Caused(m func(cluster.Event) bool, cause error) func(cluster.Event) bool {
	return func(ev cluster.Event) bool { return m(ev) && errors.Is(ev.Err, cause) }
}

// WaitCount waits until exactly count events match, and fails if more do.
func WaitCount(t testing.TB, e *Events, count int, match func(cluster.Event) bool) {
	t.Helper()
	e.signal.Wait(t, WaitFor, func() bool { return len(e.Find(match)) >= count },
		func() string { return fmt.Sprintf("want %d matching events among:\n%s", count, e) })
	require.Len(t, e.Find(match), count, "more matching events than expected among:\n%s", e)
}
