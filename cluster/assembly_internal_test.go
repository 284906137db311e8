package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The budget gives room in order of arrival, as it frees, and keeps it
// until the payload is consumed or its connection ends.
func TestAssemblyGivesRoomInTurn(t *testing.T) {
	const mib = 1 << 20
	a := newAssembly(mib)
	require.Equal(t, int64(4*mib), a.limit)
	var holders []*claim
	for range 4 {
		c, start := a.claim(&peer{}, mib)
		require.True(t, c.held.Load())
		require.False(t, start)
		holders = append(holders, c)
	}
	e, start := a.claim(&peer{}, mib)
	assert.False(t, e.held.Load())
	assert.True(t, start, "the first to wait starts the check")
	f, start := a.claim(&peer{}, 1)
	assert.False(t, f.held.Load(), "a small claim overtook a waiting one")
	assert.False(t, start)
	assert.Equal(t, int64(minClaim), f.size, "a claim is at least minClaim")

	// A completed payload keeps its room until it is consumed.
	held, granted := a.complete(holders[0], false)
	assert.Equal(t, int64(mib), held)
	assert.Empty(t, granted)
	assert.Equal(t, int64(4*mib), a.Held())
	assert.Equal(t, []*claim{e}, a.free(held))
	assert.True(t, e.held.Load())

	// A payload that the window holds whole frees its room at once: the
	// head of the queue gets it.
	held, granted = a.complete(holders[1], true)
	assert.Zero(t, held)
	assert.Equal(t, []*claim{f}, granted)
	assert.Equal(t, int64(3*mib+minClaim), a.Held())

	// A claim whose connection ends frees its room, and a waiting one
	// leaves the queue.
	g, _ := a.claim(&peer{}, mib)
	require.False(t, g.held.Load())
	assert.Empty(t, a.abandon(g))
	assert.Empty(t, a.abandon(f))
	assert.Equal(t, int64(3*mib), a.Held())
	for _, c := range []*claim{holders[2], holders[3], e} {
		a.abandon(c)
	}
	assert.Zero(t, a.Held())
	assert.Empty(t, a.holders)
	assert.Zero(t, a.waiting)
}

// Payloads that wait and then complete, over and over, behind one that
// waits for room, do not make the queue grow without bound.
func TestAssemblyQueueDropsStaleClaims(t *testing.T) {
	const mib = 1 << 20
	a := newAssembly(mib)
	for range 4 {
		a.claim(&peer{}, mib)
	}
	head, _ := a.claim(&peer{}, mib)
	for range 10_000 {
		c, _ := a.claim(&peer{}, mib)
		held, granted := a.complete(c, false)
		require.Zero(t, held)
		require.Empty(t, granted)
	}
	assert.Less(t, len(a.queue), 2*a.waiting+17)
	assert.Equal(t, 1, a.waiting)
	assert.Same(t, head, a.queue[0])
}

// While a claim waits, a holder whose payload gains less than the floor
// rate over the grace is slow, unless its remote's messages wait for
// Inbox; once none waits, the check ends.
func TestAssemblyFindsSlowHolders(t *testing.T) {
	const mib, grace = 1 << 20, 10 * time.Second
	a := newAssembly(mib)
	fast, slow, parked := &peer{}, &peer{}, &peer{}
	parked.in.parked.Store(1)
	var cs []*claim
	for _, p := range []*peer{fast, slow, parked} {
		c, _ := a.claim(p, mib)
		cs = append(cs, c)
	}
	_, start := a.claim(&peer{}, 2*mib)
	require.True(t, start)
	begin := cs[2].at // the last to get room

	cs[0].got.Add(minAssemblyRate * 11)
	cs[1].got.Add(minAssemblyRate*10 - 1)
	found, more := a.slow(begin.Add(grace/2), grace)
	assert.Empty(t, found, "judged before the grace")
	assert.True(t, more)
	found, more = a.slow(begin.Add(grace), grace)
	assert.True(t, more)
	require.Len(t, found, 1)
	assert.Same(t, slow, found[0].p)
	assert.Equal(t, int64(minAssemblyRate*10-1), found[0].gained)

	// Measured afresh from each check.
	found, _ = a.slow(begin.Add(2*grace), grace)
	assert.Len(t, found, 3-1, "the parked one was judged")

	a.free(a.used)
	found, more = a.slow(begin.Add(3*grace), grace)
	assert.Empty(t, found)
	assert.False(t, more)
	assert.False(t, a.checking)
}
