package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestSendDeliversInOrderFromTheSendersListenAddress(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		const count = 2000
		go func() {
			for i := range count {
				assert.NoError(t, a.Send(remote(b), []byte(fmt.Sprint(i))))
			}
		}()
		for i := range count {
			m := receive(t, b)
			require.Equal(t, fmt.Sprint(i), string(m.Payload))
			require.Equal(t, a.String(), m.From.String())
		}
	})
}

func TestSendCopiesThePayload(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		buf := []byte("first")
		require.NoError(t, a.Send(remote(b), buf))
		copy(buf, "XXXXX")
		assert.Equal(t, "first", string(receive(t, b).Payload))
	})
}

func TestSendCarriesLargeAndEmptyPayloads(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		const max = 4 << 20
		// a's queue holds both payloads, so that no Send waits for the
		// link, and the default network timeout lets the large one cross
		// a loaded machine: this test is about payloads, not time.
		opts := []cluster.Option{cluster.WithMaxMessageSize(max), cluster.WithSendQueueSize(2 * max), clustertest.Patient()}
		a, b := h.node(opts...), h.node(opts...)
		mesh(t, a, b)
		big := bytes.Repeat([]byte("0123456789abcdef"), max/16)
		require.NoError(t, a.Send(remote(b), big))
		require.NoError(t, a.Send(remote(b), nil))
		assert.Equal(t, big, receive(t, b).Payload)
		assert.Empty(t, receive(t, b).Payload)

		err := a.Send(remote(b), make([]byte, max+1))
		assert.ErrorIs(t, err, cluster.ErrMessageTooLarge)
	})
}

func TestSendErrors(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		err := a.Send(remote(b), []byte("x"))
		assert.ErrorIs(t, err, cluster.ErrUnknownRemote)
		assert.Contains(t, err.Error(), b.String())

		mesh(t, a, b)
		a.Close()
		assert.ErrorIs(t, a.Send(remote(b), []byte("x")), cluster.ErrClosed)
	})
}

func TestSendWaitsForQueueSpaceThenTimesOut(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(cluster.WithSendQueueSize(64<<10)), h.node()
		require.NoError(t, a.Add(b.String()))
		// Each of a's writes to b takes a second: its queue stays full.
		h.faults.Delay(a.String(), b.String(), time.Second)
		a.SetNetworkTimeout(200 * time.Millisecond)
		payload := make([]byte, 16<<10)
		var err error
		sent := 0
		start := time.Now()
		for err == nil {
			err = a.Send(remote(b), payload)
			sent++
		}
		assert.ErrorIs(t, err, cluster.ErrTimeout)
		assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
		// The batch being written and the queue behind it each hold at most
		// 64 KiB: three 16 KiB frames with their headers, or one alone.
		assert.LessOrEqual(t, sent, 3+3+1)
		assert.Contains(t, remoteNames(a), b.String(), "a full queue alone does not remove b")
	})
}

func TestSendContextEndsWithTheContext(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node(cluster.WithSendQueueSize(64 << 10))
		b := h.node(cluster.WithInboxSize(1))
		mesh(t, a, b)
		ctx, cancel := context.WithCancel(context.Background())
		payload := make([]byte, 16<<10)
		done := make(chan error, 1)
		go func() {
			for {
				if err := a.SendContext(ctx, remote(b), payload); err != nil {
					done <- err
					return
				}
			}
		}()
		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled)
		case <-time.After(waitFor):
			t.Fatal("SendContext did not return after cancel")
		}
	})
}

func TestBroadcastReachesEveryRemote(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ns := h.nodes(4)
		mesh(t, ns...)
		ns[0].Broadcast([]byte("all"))
		for _, n := range ns[1:] {
			m := receive(t, n)
			assert.Equal(t, "all", string(m.Payload))
			assert.Equal(t, ns[0].String(), m.From.String())
		}
	})
}

func TestRemotesReturnsACopy(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		rs := a.Remotes()
		rs[0].Port = 1
		rs[0].IP[0] = 99
		assert.Equal(t, names(b), remoteNames(a))
	})
}

func TestConcurrentSendersToOneRemoteLoseNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		const senders, each = 4, 500
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := range each {
					assert.NoError(t, a.Send(remote(b), []byte(fmt.Sprintf("%d:%d", s, i))))
				}
			})
		}
		next := make([]int, senders)
		for range senders * each {
			var s, i int
			_, err := fmt.Sscanf(string(receive(t, b).Payload), "%d:%d", &s, &i)
			require.NoError(t, err)
			require.Equal(t, next[s], i, "sender %d out of order", s)
			next[s]++
		}
		wg.Wait()
	})
}
