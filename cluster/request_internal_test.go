package cluster

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport/mem"
)

// TestAbandonedRequestsLeaveNothingBehind makes 10,000 requests of a remote
// whose handler never answers, all waiting at once, and gives up on them:
// the requester must hold no call, no goroutine and no memory for them
// afterwards, and its map of calls must be made afresh. It does so twice,
// of two remotes, and measures the second time: the first grows what the
// runtime keeps for good, such as the goroutines' descriptors.
func TestAbandonedRequestsLeaveNothingBehind(t *testing.T) {
	const requests = 10_000
	nw := mem.NewNetwork()
	never := func(ctx context.Context, _ *Message) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := NewNode("127.0.0.1:0", WithTransport(nw))
	require.NoError(t, err)
	defer a.Close()
	var bs [2]*Node
	for i := range bs {
		bs[i], err = NewNode("127.0.0.1:0", WithTransport(nw), WithRequestHandler(never), WithRequestConcurrency(1))
		require.NoError(t, err)
		defer func() {
			if bs[i] != nil {
				bs[i].Close()
			}
		}()
		require.NoError(t, a.AddContext(ctx, bs[i].String()))
	}

	var goroutines int
	var heap int64
	for i := range bs {
		if i == 1 {
			goroutines, heap = runtime.NumGoroutine(), liveHeap()
		}
		to := Remote(*bs[i].Addr())
		abandon, giveUp := context.WithCancel(ctx)
		var wg sync.WaitGroup
		errs := make(chan error, requests)
		for range requests {
			wg.Go(func() {
				_, err := a.Request(abandon, to, []byte("question"))
				errs <- err
			})
		}
		require.Eventually(t, func() bool { return a.conv.pending() == requests }, 30*time.Second, time.Millisecond,
			"%d of %d requests pending", a.conv.pending(), requests)
		giveUp()
		wg.Wait()
		close(errs)
		for err := range errs {
			require.ErrorIs(t, err, context.Canceled)
		}
		assert.Zero(t, a.conv.pending(), "calls left in the map")
		a.conv.mu.Lock()
		assert.Zero(t, a.conv.peak, "the map of calls was not made afresh")
		a.conv.mu.Unlock()

		// The remote holds the requests it has not handed to its
		// handler (they count against its window); once it is gone, a
		// must hold nothing for them.
		bs[i].Close()
		bs[i] = nil
		require.NoError(t, a.Wait(ctx, func(rs []Remote) bool { return len(rs) == 1-i }))
	}

	// The requests' goroutines are on their way out once they returned.
	assertGoroutinesBackTo(t, goroutines)
	grown := liveHeap() - heap
	t.Logf("live heap grew by %d bytes over %d abandoned requests", grown, requests)
	assert.Less(t, grown, int64(requests*16), "the abandoned requests left memory behind")
}

// liveHeap returns the bytes of live heap objects after two collections:
// the first moves what sync.Pools hold to their victim caches, the second
// frees it, so that what a pool happened to hold is not counted.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestAbandonedQueriesLeaveNothingBehind abandons 1,000 queries of a remote
// that never answers, and of one that does: no call stays in the map and no
// goroutine stays behind.
func TestAbandonedQueriesLeaveNothingBehind(t *testing.T) {
	const queries = 1000
	nw := mem.NewNetwork()
	never := func(ctx context.Context, _ *Message) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	echo := func(_ context.Context, m *Message) ([]byte, error) { return m.Payload, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := NewNode("127.0.0.1:0", WithTransport(nw))
	require.NoError(t, err)
	defer a.Close()
	b, err := NewNode("127.0.0.1:0", WithTransport(nw), WithRequestHandler(never), WithRequestConcurrency(1))
	require.NoError(t, err)
	defer b.Close()
	c, err := NewNode("127.0.0.1:0", WithTransport(nw), WithRequestHandler(echo))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, a.AddContext(ctx, b.String()))
	require.NoError(t, a.AddContext(ctx, c.String()))
	for _, n := range []*Node{a, b, c} {
		require.NoError(t, n.Wait(ctx, func(rs []Remote) bool { return len(rs) == 2 }))
	}
	// b's one handler is taken by a first query until the end, so that
	// the others wait for it in b, and cancels of theirs find no handler.
	first, stop := context.WithCancel(ctx)
	defer stop()
	q := a.Query(first, []byte("q"), Remote(*b.Addr()))
	require.Eventually(t, func() bool { return len(b.conv.slots) == 1 }, 10*time.Second, time.Millisecond)
	goroutines := runtime.NumGoroutine()

	abandon, giveUp := context.WithCancel(ctx)
	qs := make([]*Query, queries)
	for i := range qs {
		qs[i] = a.Query(abandon, []byte("q"), Remote(*b.Addr()), Remote(*c.Addr()))
	}
	for _, q := range qs {
		require.NoError(t, (<-q.Answers()).Err, "c answers")
	}
	assert.Equal(t, queries+1, a.conv.pending(), "b's calls")
	giveUp()
	for _, q := range qs {
		rest := q.Wait()
		require.Len(t, rest, 1)
		assert.ErrorIs(t, rest[0].Err, context.Canceled)
	}
	assert.Equal(t, 1, a.conv.pending(), "calls left in the map")
	assertGoroutinesBackTo(t, goroutines)
	stop()
	require.Len(t, q.Wait(), 1)
	assert.Zero(t, a.conv.pending())
}

// assertGoroutinesBackTo asserts that the process is back to at most n
// goroutines within 10 s: the ones a test ended are on their way out, and
// there is no event for their exit to wait for. It polls on the calling
// goroutine, as assert.Eventually, which runs the condition on one of its
// own, would count that one too.
func assertGoroutinesBackTo(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), n, "goroutines left behind")
}
