package cluster_test

import (
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestCloseIsGracefulAndNeverRetried(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		recA := newRecorder()
		a, b, c := h.node(recA.Options()...), h.node(), h.node()
		mesh(t, a, b, c)
		cAddr := c.String()
		c.Close()
		waitMesh(t, a, b)
		recA.WaitEvents(t, map[string]int{"-" + cAddr: 1})

		// Several reconnect intervals pass without a dial to c.
		dialsA, dialsB := h.faults.Dials(a.String(), cAddr), h.faults.Dials(b.String(), cAddr)
		time.Sleep(5 * clustertest.Reconnect) // to show that nothing happens meanwhile
		assert.Equal(t, dialsA, h.faults.Dials(a.String(), cAddr))
		assert.Equal(t, dialsB, h.faults.Dials(b.String(), cAddr))
		assert.Equal(t, 1, recA.Count("-"+cAddr))
	})
}

func TestCloseRemoteIsGracefulOnBothSides(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		recB := newRecorder()
		a, b, c := h.node(), h.node(recB.Options()...), h.node()
		mesh(t, a, b, c)
		a.CloseRemote(remote(b))
		waitRemotes(t, a, c)
		waitRemotes(t, b, c)
		recB.WaitEvents(t, map[string]int{"-" + a.String(): 1})
		assert.ErrorIs(t, a.Send(remote(b), []byte("x")), cluster.ErrUnknownRemote)

		// Neither retries the other, and c's peer lists do not bring them back,
		// even when c introduces itself anew.
		dialsAB, dialsBA := h.faults.Dials(a.String(), b.String()), h.faults.Dials(b.String(), a.String())
		c.CloseRemote(remote(a))
		require.NoError(t, c.Add(a.String()))
		time.Sleep(5 * clustertest.Reconnect) // to show that nothing happens meanwhile
		assert.Equal(t, dialsAB, h.faults.Dials(a.String(), b.String()), "a dialled b again")
		assert.Equal(t, dialsBA, h.faults.Dials(b.String(), a.String()), "b dialled a again")
		assert.Equal(t, names(c), remoteNames(a))
		assert.Equal(t, names(c), remoteNames(b))

		// Add is how a remote comes back.
		require.NoError(t, a.Add(b.String()))
		waitMesh(t, a, b, c)
	})
}

func TestCloseRemoteOfUnknownRemoteIsHarmless(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		a.CloseRemote(remote(b))
		mesh(t, a, b)
	})
}

func TestCloseClosesInboxAndIsIdempotent(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		require.NoError(t, b.Send(remote(a), []byte("last")))
		assert.Equal(t, "last", string(receive(t, a).Payload))
		ranged := make(chan struct{})
		go func() {
			for range a.Inbox {
			}
			close(ranged)
		}()
		a.Close()
		a.Close()
		select {
		case <-ranged:
		case <-time.After(waitFor):
			t.Fatal("range over Inbox did not end after Close")
		}
		assert.Empty(t, a.Remotes())
		waitRemotes(t, b)
	})
}

func TestConcurrentCloseCallsAllWait(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ns := h.nodes(3)
		mesh(t, ns...)
		done := make(chan struct{}, 3)
		for range 3 {
			go func() { ns[0].Close(); done <- struct{}{} }()
		}
		for range 3 {
			<-done
		}
		_, open := <-ns[0].Inbox
		assert.False(t, open)
	})
}

// TestCloseStopsEveryGoroutine runs alone (not in parallel), so that any
// goroutine left after the nodes close is theirs.
func TestCloseStopsEveryGoroutine(t *testing.T) {
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, s)
			idle := goleak.IgnoreCurrent()
			ns := h.nodes(5)
			mesh(t, ns...)
			for _, n := range ns {
				n.Broadcast([]byte("busy"))
			}
			// Each node runs a reader per remote, started just after the
			// remote is registered, and a writer while there is
			// something to write.
			assert.Eventually(t, func() bool {
				return goroutinesIn("cluster.(*peer).readLoop") >= 5*4
			}, waitFor, tick, "a reader per remote")
			for _, n := range ns {
				n.Close()
			}
			goleak.VerifyNone(t, idle)
		})
	}
}

// goroutinesIn counts the goroutines whose stack has function f in it.
func goroutinesIn(f string) int {
	var buf strings.Builder
	pprof.Lookup("goroutine").WriteTo(&buf, 2) // every stack, as a panic prints them
	n := 0
	for g := range strings.SplitSeq(buf.String(), "\n\n") {
		if strings.Contains(g, f) {
			n++
		}
	}
	return n
}
