package clustertest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

// Exactly returns a condition for Node.Wait: the remotes are exactly the
// addresses of want.
func Exactly[S fmt.Stringer](want ...S) func([]cluster.Remote) bool {
	w := Names(want...)
	return func(rs []cluster.Remote) bool { return slices.Equal(Names(rs...), w) }
}

// WaitKnows waits at most d until n's remotes are exactly want: nodes, or
// anything else that names a node by its listen address.
func WaitKnows(t testing.TB, d time.Duration, n *cluster.Node, want ...fmt.Stringer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := n.Wait(ctx, Exactly(want...)); err != nil {
		require.FailNow(t, "remotes not as expected",
			"%s should know exactly %v within %v, but knows %v: %v", n, Names(want...), d, RemoteNames(n), err)
	}
}

// WaitRemotes waits until n's remotes are exactly want.
func WaitRemotes(t testing.TB, n *cluster.Node, want ...*cluster.Node) {
	t.Helper()
	WaitKnows(t, WaitFor, n, Stringers(want...)...)
}

// WaitViews waits at most d, in all, until each node of want knows exactly
// the nodes it maps to.
func WaitViews(t testing.TB, d time.Duration, want map[*cluster.Node][]*cluster.Node) {
	t.Helper()
	deadline := time.Now().Add(d)
	for n, w := range want {
		WaitKnows(t, time.Until(deadline), n, Stringers(w...)...)
	}
}

// WaitFullMesh waits until every node of ns knows exactly the others.
func WaitFullMesh(t testing.TB, ns ...*cluster.Node) {
	t.Helper()
	for _, n := range ns {
		WaitRemotes(t, n, Others(n, ns)...)
	}
}

// Mesh joins every node of ns to the first, each waiting at most WaitFor for
// the mesh it joined (Node.WaitMesh), then waits until every node knows
// exactly the others. Each join has a WaitFor of its own: a mesh of many
// nodes takes many handshakes, and a loaded machine slows each of them.
func Mesh(t testing.TB, ns ...*cluster.Node) {
	t.Helper()
	for _, n := range ns[1:] {
		require.NoError(t, n.Add(ns[0].String()), "%s joins %s", n, ns[0])
		require.NoError(t, WaitMesh(n), "%s joins the mesh of %s", n, ns[0])
	}
	WaitFullMesh(t, ns...)
}

// WaitMesh waits at most WaitFor until n has joined the mesh it was added
// to (Node.WaitMesh), and returns what Node.WaitMesh returns.
func WaitMesh(n *cluster.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	return n.WaitMesh(ctx)
}

// Stringers returns xs as a slice of fmt.Stringer, to mix with others.
func Stringers[S fmt.Stringer](xs ...S) []fmt.Stringer {
	s := make([]fmt.Stringer, len(xs))
	for i, x := range xs {
		s[i] = x
	}
	return s
}

// A Signal tells waiters that some state changed, so that they wait for a
// condition on it without polling: whoever changes the state calls Notify,
// and Wait checks its condition again after each. The zero Signal is ready
// to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{} // closed by the next Notify; nil while nobody waits
}

// Notify wakes every Wait.
func (s *Signal) Notify() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
	s.mu.Unlock()
}

// changed returns a channel that the next Notify closes.
func (s *Signal) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Wait waits at most d until cond, called at once and after every Notify,
// reports true, and fails t if it does not, with the message describe gives
// then: what the test waited for, and what it got.
func (s *Signal) Wait(t testing.TB, d time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		changed := s.changed()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			require.FailNow(t, fmt.Sprintf("not so within %v", d), describe())
		}
	}
}
