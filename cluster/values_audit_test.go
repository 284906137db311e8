package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/mem"
)

// Each typed value decodes on its own, whatever came before it: values
// marshalled one after the other decode in any order, on any node of the
// codec, each any number of times.
func TestAuditTypedValuesDecodeOnTheirOwn(t *testing.T) {
	t.Parallel()
	for _, c := range []cluster.Option{cluster.WithCodec(msgpack.Codec{}), cluster.WithCodec(gob.Codec{})} {
		nw := mem.NewNetwork()
		a := memNode(t, nw, "10.0.0.1:0", c)
		b := memNode(t, nw, "10.0.0.2:0", c)
		var payloads [][]byte
		for i := range 3 {
			p, err := cluster.Marshal(a, order{Item: fmt.Sprint("item ", i), Count: i})
			require.NoError(t, err)
			payloads = append(payloads, p)
		}
		for _, i := range []int{2, 0, 1, 2} {
			got, err := cluster.Decode[order](b, payloads[i])
			require.NoError(t, err, "value %d", i)
			assert.Equal(t, fmt.Sprint("item ", i), got.Item)
			assert.Equal(t, i, got.Count)
		}
	}
}

// HandleValue answers with the error a reply that does not encode: the
// caller gets a *RemoteError that says so.
func TestAuditHandleValueReplyThatDoesNotEncode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	b := h.node(cluster.WithRequestHandler(cluster.HandleValue(func(context.Context, cluster.Remote, string) (func(), error) {
		return func() {}, nil
	})))
	a := h.node()
	mesh(t, a, b)
	_, err := cluster.RequestValue[string](testContext(t), a, remote(b), "q")
	var re *cluster.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Text, cluster.ErrEncode.Error())
}

// req.Payload is the handler's to keep: what a handler kept of one request
// is not overwritten by the next.
func TestAuditARequestsPayloadIsTheHandlersToKeep(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	var mu sync.Mutex
	var kept [][]byte
	b := h.node(cluster.WithRequestHandler(func(_ context.Context, req *cluster.Message) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		kept = append(kept, req.Payload)
		return nil, nil
	}))
	a := h.node()
	mesh(t, a, b)
	const count = 50
	for i := range count {
		_, err := a.Request(testContext(t), remote(b), fmt.Appendf(nil, "request %02d", i))
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, kept, count)
	for i, p := range kept {
		assert.Equal(t, fmt.Sprintf("request %02d", i), string(p))
	}
}

// Wait calls ready on the calling goroutine: never again once Wait has
// returned, and never twice at once.
func TestAuditWaitCallsReadyOnlyWhileItWaits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a := h.node()
	var mu sync.Mutex
	calls, inside, overlaps := 0, 0, 0
	returned := false
	var late int
	ready := func(rs []cluster.Remote) bool {
		mu.Lock()
		calls++
		inside++
		if inside > 1 {
			overlaps++
		}
		if returned {
			late++
		}
		mu.Unlock()
		defer func() { mu.Lock(); inside--; mu.Unlock() }()
		return len(rs) >= 2
	}
	done := make(chan error, 1)
	go func() { done <- a.Wait(testContext(t), ready) }()
	for _, n := range h.nodes(3) {
		require.NoError(t, n.Add(a.String()))
	}
	require.NoError(t, <-done)
	mu.Lock()
	returned = true
	mu.Unlock()
	more := h.node()
	require.NoError(t, more.Add(a.String()))
	require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 4 }))
	mu.Lock()
	defer mu.Unlock()
	assert.Positive(t, calls)
	assert.Zero(t, overlaps, "ready ran twice at once")
	assert.Zero(t, late, "ready ran after Wait returned")
}

// Add waits at most the network timeout: an Add of a node that never
// answers fails with ErrTimeout once it has passed.
func TestAuditAddIntoABlackHoleTimesOut(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		a, c := h.node(), h.node()
		h.faults.Blackhole(a.String(), c.String())
		start := time.Now()
		err := a.Add(c.String())
		took := time.Since(start)
		assert.ErrorIs(t, err, cluster.ErrTimeout)
		assert.LessOrEqual(t, took, a.NetworkTimeout())
		assert.Empty(t, a.Remotes())
	})
}

// A network timeout set on a running node bounds a Send and a Request that
// wait for room in a full queue: both fail with ErrTimeout once it has
// passed, and the remote stays.
func TestAuditSetNetworkTimeoutBoundsTheWaitForRoom(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		// A long healthy interval, so that b is not suspended meanwhile.
		a := h.node(cluster.WithSendQueueSize(16<<10), cluster.WithHealthyInterval(time.Hour))
		b := h.node(cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10), cluster.WithRequestHandler(echo)) // reads nothing
		mesh(t, a, b)
		fillQueues(a, b)
		const timeout = 700 * time.Millisecond
		a.SetNetworkTimeout(timeout)
		start := time.Now()
		assert.ErrorIs(t, a.Send(remote(b), make([]byte, 1<<10)), cluster.ErrTimeout)
		assert.Equal(t, timeout, time.Since(start).Round(100*time.Millisecond), "Send's wait")
		start = time.Now()
		ctx, stop := context.WithTimeout(context.Background(), 10*timeout)
		defer stop()
		_, err := a.Request(ctx, remote(b), make([]byte, 1<<10)) // as large as what filled the queue
		assert.ErrorIs(t, err, cluster.ErrTimeout, "%v", err)
		assert.Equal(t, timeout, time.Since(start).Round(100*time.Millisecond), "Request's wait")
		assert.Len(t, a.Remotes(), 1, "b stays a remote")
		go drain(b) // so that a's goodbye, behind its queue, gets through when the test ends
	})
}

// SetHealthyInterval and SetReconnectInterval change a running node at
// once: a node whose intervals were an hour checks its remote's health, and
// redials one it lost, at the new interval, without waiting out the hour.
func TestAuditIntervalSettersTakeEffectOnARunningNode(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const hour, short = time.Hour, 100 * time.Millisecond
		ev := clustertest.NewEvents()
		a := h.node(ev.Option(), cluster.WithHealthyInterval(hour), cluster.WithReconnectInterval(hour))
		b := h.node(cluster.WithHealthyInterval(hour), cluster.WithReconnectInterval(hour))
		require.NoError(t, a.Add(b.String()))
		time.Sleep(time.Second)
		synctest.Wait()
		pongs := len(ev.Find(clustertest.Is(cluster.EventPong, b)))
		a.SetHealthyInterval(short)
		time.Sleep(3 * short)
		synctest.Wait()
		assert.Greater(t, len(ev.Find(clustertest.Is(cluster.EventPong, b))), pongs, "no health check at the new interval")

		h.faults.Break(a.String(), b.String())
		require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
		a.SetReconnectInterval(short)
		time.Sleep(3 * short)
		synctest.Wait()
		assert.Len(t, a.Remotes(), 1, "a did not redial b at the new interval")
	})
}

// Query "returns at once with the Query on which their answers arrive", and
// queues its requests "as Broadcast does", which waits for the remotes whose
// queue is full at once: two of them delay the query by one network
// timeout, not one each, and a remote with room answers without waiting for
// them.
func TestAuditQueryWaitsForFullQueuesAtOnce(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		// A long healthy interval, so that nobody is suspended meanwhile.
		a := h.node(cluster.WithSendQueueSize(16<<10), cluster.WithHealthyInterval(time.Hour))
		reads := h.node(cluster.WithRequestHandler(echo))
		var stuck []*cluster.Node
		for range 2 {
			stuck = append(stuck, h.node(cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10),
				cluster.WithRequestHandler(echo))) // read nothing
		}
		mesh(t, append([]*cluster.Node{a, reads}, stuck...)...)
		fillQueues(a, stuck...)
		ctx, stop := context.WithTimeout(context.Background(), 10*a.NetworkTimeout())
		defer stop()
		start := time.Now()
		q := a.Query(ctx, make([]byte, 1<<10))
		assert.Less(t, time.Since(start), a.NetworkTimeout(), "Query returned at once")
		for ans := range q.Answers() {
			took := time.Since(start)
			if ans.From.Equal(remote(reads)) {
				assert.NoError(t, ans.Err)
				assert.Less(t, took, a.NetworkTimeout(), "the remote with room waited for the full ones")
				continue
			}
			assert.ErrorIs(t, ans.Err, cluster.ErrTimeout, "%s", ans.From)
			assert.LessOrEqual(t, took, a.NetworkTimeout(), "%s answered after one network timeout", ans.From)
		}
		for _, s := range stuck {
			go drain(s) // so that a's goodbyes, behind its queues, get through when the test ends
		}
	})
}

// SetTags sends the new tags to every remote at once: a remote that reads
// no Inbox, with a full queue and a shut window toward it, gets them
// anyway, since a node reads every connection all the time, and SetTags
// does not wait for room.
func TestAuditSetTagsReachesARemoteWhoseWindowIsShut(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		a := h.node(cluster.WithSendQueueSize(16<<10), cluster.WithHealthyInterval(time.Hour))
		b := h.node(cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10)) // reads nothing
		mesh(t, a, b)
		fillQueues(a, b)
		start := time.Now()
		require.NoError(t, a.SetTags(map[string]string{"role": "new"}))
		assert.Less(t, time.Since(start), a.NetworkTimeout(), "SetTags waited for room")
		time.Sleep(time.Second)
		synctest.Wait()
		info, ok := b.Info(remote(a))
		require.True(t, ok)
		assert.Equal(t, map[string]string{"role": "new"}, info.Tags, "b has a's new tags")
		go drain(b) // so that a's goodbye, behind its queue, gets through when the test ends
	})
}
