package cluster_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

func TestHealthCheckRemovesASilentRemoteAndReconnectBringsItBack(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b, c := h.node(), h.node(), h.node()
		recA, recB := record(a), record(b)
		mesh(t, a, b, c)
		for _, n := range []*cluster.Node{a, b} {
			n.SetNetworkTimeout(300 * time.Millisecond)
		}

		// a and b can no longer hear each other; both still hear c.
		h.faults.Blackhole(a.String(), b.String())
		start := time.Now()
		recA.waitEvents(t, map[string]int{"-" + b.String(): 1})
		recB.waitEvents(t, map[string]int{"-" + a.String(): 1})
		t.Logf("removed after %v", time.Since(start))
		assert.Equal(t, names(c), remoteNames(a))
		assert.Equal(t, names(c), remoteNames(b))
		assert.ErrorIs(t, a.Send(remote(b), []byte("x")), cluster.ErrUnknownRemote)

		// Once the network heals, the reconnect loop brings them back.
		h.faults.Heal()
		waitMesh(t, a, b, c)
		recA.waitEvents(t, map[string]int{"+" + b.String(): 2})
		require.NoError(t, a.Send(remote(b), []byte("back")))
		assert.Equal(t, "back", string(receive(t, b).Payload))
	})
}

func TestUngracefullyLostRemoteIsRetriedUntilItReturns(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		h.faults.Blackhole(a.String(), b.String())
		waitRemotes(t, a)
		waitRemotes(t, b)
		// Retries keep failing while the black hole lasts...
		before := h.faults.Dials(a.String(), b.String())
		require.Eventually(t, func() bool {
			return h.faults.Dials(a.String(), b.String()) >= before+3
		}, waitFor, tick)
		// ...and the next one after it succeeds.
		h.faults.Heal()
		waitMesh(t, a, b)
	})
}

// An Inbox that nobody reads pauses the remotes that send to it, and only
// them: their Sends wait and time out once the node's window is full, nobody
// is removed on either side, and every message a Send accepted arrives, in
// order, once the application reads again.
func TestUnreadInboxPausesSendersAndLosesNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		const timeout = 500 * time.Millisecond
		small := cluster.WithMaxMessageSize(64 << 10)
		// a's inbox holds one message, and a's window 64 KiB more.
		a := h.node(small, cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10))
		b := h.node(small, cluster.WithSendQueueSize(64<<10))
		c := h.node(small)
		for _, n := range []*cluster.Node{a, b, c} {
			n.SetNetworkTimeout(timeout)
		}
		recA, recB, recC := record(a), record(b), record(c)
		mesh(t, a, b, c)

		// b sends numbered messages while nobody reads a's Inbox, for three
		// network timeouts after the first Send that failed.
		var accepted []string
		var stalled time.Time
		for i := 0; stalled.IsZero() || time.Since(stalled) < 3*timeout; i++ {
			payload := fmt.Sprintf("%d", i)
			err := b.Send(remote(a), append([]byte(payload), make([]byte, 1000)...))
			if err == nil {
				require.True(t, stalled.IsZero(), "a Send succeeded after a's window filled, while nobody read a's Inbox")
				accepted = append(accepted, payload)
				continue
			}
			require.ErrorIs(t, err, cluster.ErrTimeout)
			if stalled.IsZero() {
				stalled = time.Now()
			}
		}
		require.NotEmpty(t, accepted)

		// Meanwhile a and c still serve each other, and a still answers
		// health checks: nobody lost anybody.
		require.NoError(t, a.Send(remote(c), []byte("from a")))
		assert.Equal(t, "from a", string(receive(t, c).Payload))
		for _, r := range []*recorder{recA, recB, recC} {
			assert.Zero(t, r.count("-"+a.String())+r.count("-"+b.String())+r.count("-"+c.String()), "a remote was removed")
		}

		// Every accepted message arrives, in order, and then b's next one:
		// none of those that timed out.
		require.NoError(t, b.Send(remote(a), []byte("last")))
		for _, want := range accepted {
			m := receive(t, a)
			require.Equal(t, want, string(bytes.TrimRight(m.Payload, "\x00")))
		}
		assert.Equal(t, "last", string(receive(t, a).Payload))

		closed := make(chan struct{})
		go func() { a.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(waitFor):
			t.Fatal("Close blocked")
		}
	})
}
