package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A peer list that names an address the node is already dialling (an Add
// still under way) makes WaitMesh wait for that dial too, so that right after
// it returns the node can send to every remote of the mesh.
func TestWaitMeshWaitsForADialAlreadyUnderWay(t *testing.T) {
	h := newHarness(t, memStack())
	a, b, c := h.node(), h.node(), h.node()
	require.NoError(t, b.Add(a.String()))
	h.faults.Delay(c.String(), a.String(), 300*time.Millisecond)
	slow := make(chan error, 1)
	go func() { slow <- c.Add(a.String()) }()
	// c's dial to a is under way (it takes at least the 300 ms delay) while
	// c joins b, whose peer list names a.
	require.NoError(t, c.Add(b.String()))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.WaitMesh(ctx))
	require.NoError(t, c.Send(remote(a), []byte("hello")), "a is a remote of c once WaitMesh returns")
	require.NoError(t, <-slow)
}

// An AddContext that its caller gives up after its hello does not say
// goodbye for the node: the acceptor, if it took the connection, takes the
// end for a crash, and the dialler redials, so the two meet again.
func TestCancelledAddDoesNotPartTwoNodesForGood(t *testing.T) {
	h := newHarness(t, memStack())
	a, b := h.node(), h.node()
	h.faults.Delay(a.String(), b.String(), 300*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	added := make(chan error, 1)
	go func() { added <- a.AddContext(ctx, b.String()) }()
	// b takes the connection before a hears of it; then a's caller gives up.
	waitRemotes(t, b, a)
	cancel()
	require.Error(t, <-added)
	h.faults.Heal()
	waitMesh(t, a, b)
}
