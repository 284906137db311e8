package cluster_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

// knows returns a condition for Wait: every one of ns is a remote.
func knows(ns ...*cluster.Node) func([]cluster.Remote) bool {
	return func(rs []cluster.Remote) bool {
		for _, n := range ns {
			if !slices.ContainsFunc(rs, remote(n).Equal) {
				return false
			}
		}
		return true
	}
}

func never([]cluster.Remote) bool { return false }

// waitResult runs wait on a goroutine of its own; the channel it returns
// gives wait's error.
func waitResult(wait func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- wait() }()
	return done
}

// result returns what done gives, failing the test if it gives nothing
// within waitFor.
func result(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitFor):
		require.FailNow(t, what+" did not return", "within %v", waitFor)
		return nil
	}
}

// notYet fails the test if done gave something already.
func notYet(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		require.FailNow(t, what+" returned early", "with %v", err)
	default:
	}
}

func TestWaitReturnsOnceTheChangeHappens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b, c := h.node(), h.node(), h.node()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	// A condition that holds already needs no change.
	require.NoError(t, a.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 0 }))

	var calls int
	var seen []cluster.Remote
	first := make(chan struct{})
	done := waitResult(func() error {
		return a.Wait(ctx, func(rs []cluster.Remote) bool {
			if calls++; calls == 1 {
				close(first)
			}
			seen = rs
			return knows(b, c)(rs)
		})
	})
	<-first // ready has seen a with no remotes
	require.NoError(t, b.Add(a.String()))
	waitRemotes(t, a, b)
	notYet(t, done, "Wait for b and c, with b only,")
	require.NoError(t, c.Add(a.String()))
	require.NoError(t, result(t, done, "Wait for b and c"))
	assert.Equal(t, names(b, c), clustertest.Names(seen...), "Wait returned on what ready did not accept")
	assert.GreaterOrEqual(t, calls, 2, "ready is called at once and after a change")

	// A removal is a change too.
	done = waitResult(func() error {
		return a.Wait(ctx, func(rs []cluster.Remote) bool { return !knows(b)(rs) })
	})
	b.Close()
	require.NoError(t, result(t, done, "Wait for b to go"))
	assert.Equal(t, names(c), remoteNames(a))
}

func TestWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node()
	mesh(t, a, b)

	errStop := errors.New("stop waiting")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := waitResult(func() error { return a.Wait(ctx, never) })
	notYet(t, done, "Wait")
	cancel(errStop)
	assert.ErrorIs(t, result(t, done, "Wait"), errStop)

	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	assert.ErrorIs(t, a.Wait(short, never), context.DeadlineExceeded)
	assert.Equal(t, names(b), remoteNames(a), "a Wait that ended changed nothing")
}

func TestWaitEndsWhenTheNodeCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node()
	mesh(t, a, b)
	done := waitResult(func() error { return a.Wait(context.Background(), never) })
	notYet(t, done, "Wait")
	a.Close()
	assert.ErrorIs(t, result(t, done, "Wait"), cluster.ErrClosed)
	assert.ErrorIs(t, a.Wait(context.Background(), never), cluster.ErrClosed, "Wait on a closed node")
}

// TestWaitMeshWaitsForTheDialsOfAPeerList black-holes the link from a
// joiner to one node of the mesh it joins, so that the joiner's dial to it
// hangs: WaitMesh waits for that dial, or ends with the context.
func TestWaitMeshWaitsForTheDialsOfAPeerList(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		b, c := h.node(), h.node()
		mesh(t, b, c)
		// The hanging dial gives up only after the network timeout, which
		// no wait of this test reaches.
		a := h.node(cluster.WithNetworkTimeout(2 * waitFor))
		h.faults.Blackhole(a.String(), c.String())
		require.NoError(t, a.Add(b.String()))

		short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, a.WaitMesh(short), context.DeadlineExceeded)

		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		done := waitResult(func() error { return a.WaitMesh(ctx) })
		notYet(t, done, "WaitMesh of a")
		h.faults.Heal()
		require.NoError(t, result(t, done, "WaitMesh of a"))
		// Nothing to wait for: a has c already.
		assert.Equal(t, names(b, c), remoteNames(a))
		require.NoError(t, a.Send(remote(c), []byte("through at last")))
		assert.Equal(t, "through at last", string(receive(t, c).Payload))
	})
}

// TestWaitMeshLetsAJoinerSendToEveryone has node after node join a mesh
// through one seed: right after Add and WaitMesh, each can send to every
// node of the mesh. Without WaitMesh, a joiner would still be dialling
// most of them.
func TestWaitMeshLetsAJoinerSendToEveryone(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		// A hundred handshakes: with the default network timeout, so
		// that a loaded machine does not fail one.
		ns := h.nodes(5, clustertest.Patient())
		mesh(t, ns...)
		for round := range 20 {
			j := h.node(clustertest.Patient())
			require.NoError(t, j.Add(ns[0].String()))
			// Each round waits for its own mesh: twenty rounds of
			// handshakes on a loaded machine outlast one WaitFor.
			require.NoError(t, clustertest.WaitMesh(j), "round %d", round)
			for _, m := range ns {
				require.NoError(t, j.Send(remote(m), []byte("hello")), "round %d: %s to %s", round, j, m)
			}
			for _, m := range ns {
				msg := receive(t, m)
				assert.Equal(t, j.String(), msg.From.String(), "round %d", round)
				assert.Equal(t, "hello", string(msg.Payload), "round %d", round)
			}
			j.Close()
			waitMesh(t, ns...)
		}
	})
}

// WaitMesh fails with ErrClosed once the node closes: a node closed while its
// dial to a peer-list address hangs does not report the mesh joined.
func TestWaitMeshEndsWithErrClosedWhenTheNodeCloses(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		b, c := h.node(), h.node()
		mesh(t, b, c)
		for round := range 20 {
			d := h.node(cluster.WithNetworkTimeout(2 * waitFor))
			h.faults.Blackhole(d.String(), c.String())
			require.NoError(t, d.Add(b.String()))
			done := waitResult(func() error { return d.WaitMesh(context.Background()) })
			notYet(t, done, "WaitMesh")
			d.Close()
			require.ErrorIs(t, result(t, done, "WaitMesh"), cluster.ErrClosed, "round %d", round)
		}
	})
}
