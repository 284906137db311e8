package cluster_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// Every statistic counts exactly what the test did: traffic both ways, a
// fragmented payload as one message, what waits in Inbox and in the node,
// what is queued behind a stalled write, what a broken connection
// discards, a redial, the handshakes and the removals by cause.
func TestStatsCountWhatHappened(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		const n, size, big, back = 10, 100, 100 << 10, 3
		evA := newEvents()
		// a dials b and is the only one that redials, once asked; b's
		// Inbox holds phase one's messages, and nobody reads it yet.
		a := h.node(evA.Option(), cluster.WithReconnectInterval(time.Hour), cluster.WithNetworkTimeout(4*clustertest.Timeout))
		b := h.node(cluster.WithReconnectInterval(time.Hour), cluster.WithInboxSize(n+1))
		before := time.Now()
		mesh(t, b, a)
		after := time.Now()

		// Phase one: traffic both ways.
		for range n {
			require.NoError(t, a.Send(remote(b), make([]byte, size)))
		}
		require.NoError(t, a.Send(remote(b), make([]byte, big)))
		for range back {
			require.NoError(t, b.Send(remote(a), []byte("0123456789")))
		}
		for range back {
			receive(t, a)
		}
		require.Eventually(t, func() bool { return len(b.Inbox) == n+1 }, waitFor, tick)

		sa, ok := a.RemoteStats(remote(b))
		require.True(t, ok)
		assert.True(t, sa.Connected)
		assert.True(t, sa.Dialled)
		assert.Equal(t, b.String(), sa.Remote.String())
		assert.False(t, sa.ConnectedSince.Before(before.Truncate(time.Microsecond)) || sa.ConnectedSince.After(after), "connected at %v, between %v and %v", sa.ConnectedSince, before, after)
		assert.Equal(t, [4]uint64{n + 1, n*size + big, back, back * 10},
			[4]uint64{sa.MessagesSent, sa.BytesSent, sa.MessagesReceived, sa.BytesReceived}, "a's sent, bytes, received, bytes")
		assert.Zero(t, sa.QueuedMessages)
		assert.Zero(t, sa.QueuedBytes)
		sb, ok := b.RemoteStats(remote(a))
		require.True(t, ok)
		assert.False(t, sb.Dialled)
		assert.Equal(t, [4]uint64{back, back * 10, n + 1, n*size + big},
			[4]uint64{sb.MessagesSent, sb.BytesSent, sb.MessagesReceived, sb.BytesReceived}, "b's sent, bytes, received, bytes")
		st := b.Stats()
		assert.Equal(t, 1, st.Remotes)
		assert.Equal(t, n+1, st.InboxDepth)
		assert.Equal(t, cluster.Handshakes{Admitted: 1}, st.Handshakes)
		assert.Equal(t, uint64(n+1), st.MessagesReceived)

		// Phase two: a's writes stall; what Sends queue behind the stuck
		// write waits, and goes when the connection breaks.
		h.faults.Cut(a.String(), b.String())
		require.NoError(t, a.Send(remote(b), []byte("stuck")))
		require.Eventually(t, func() bool {
			s, _ := a.RemoteStats(remote(b))
			return s.QueuedMessages == 0 // the writer took it, and waits in its write
		}, waitFor, tick)
		const queued = 4
		for range queued {
			require.NoError(t, a.Send(remote(b), make([]byte, size)))
		}
		sa, _ = a.RemoteStats(remote(b))
		assert.Equal(t, queued, sa.QueuedMessages)
		assert.Equal(t, queued*(wire.HeaderSize+size), sa.QueuedBytes)
		assert.Equal(t, queued*(wire.HeaderSize+size), a.Stats().QueuedBytes)
		h.faults.Break(a.String(), b.String())
		removed := evA.Wait(t, "removed", is(cluster.EventRemoved, b))
		assertCause(t, cluster.ErrConnLost, removed.Err, "a")
		assert.Equal(t, queued, removed.Count)
		sa, ok = a.RemoteStats(remote(b))
		require.True(t, ok, "b is redialled, so a keeps its statistics")
		assert.False(t, sa.Connected)
		assert.Equal(t, uint64(queued), sa.MessagesDropped)
		assert.ErrorIs(t, sa.LastError, cluster.ErrConnLost)
		assert.Zero(t, sa.Reconnects)
		st = a.Stats()
		assert.Equal(t, 0, st.Remotes)
		assert.Equal(t, 1, st.Reconnecting)
		assert.Equal(t, uint64(queued), st.MessagesDropped)
		assert.Equal(t, cluster.Removals{ConnLost: 1}, st.Removals)
		assert.Len(t, a.AllRemoteStats(), 1)

		// Phase three: a redials b once, and sends two messages, which wait
		// in b for room in its Inbox.
		h.faults.Heal()
		a.SetReconnectInterval(clustertest.Reconnect)
		assert.NoError(t, evA.Wait(t, "reconnect", is(cluster.EventReconnect, b)).Err)
		waitRemotes(t, b, a)
		for range 2 {
			require.NoError(t, a.Send(remote(b), []byte("again")))
		}
		require.Eventually(t, func() bool { return b.Stats().InboxWaiting == 2 }, waitFor, tick)
		for range n + 1 + 2 {
			receive(t, b)
		}
		sa, _ = a.RemoteStats(remote(b))
		assert.True(t, sa.Connected)
		assert.Equal(t, uint64(2), sa.MessagesSent, "counts of the new connection")
		assert.Equal(t, uint64(1), sa.Reconnects)
		assert.Equal(t, uint64(queued), sa.MessagesDropped)
		assert.ErrorIs(t, sa.LastError, cluster.ErrConnLost)
		st = a.Stats()
		assert.Equal(t, 0, st.Reconnecting)
		assert.Equal(t, uint64(1), st.Reconnects)
		assert.Equal(t, cluster.Handshakes{Admitted: 2}, st.Handshakes)
		// The stuck message was taken for writing, so it counts as sent.
		assert.Equal(t, uint64(n+1+1+2), st.MessagesSent)
		assert.Equal(t, uint64(n*size+big+len("stuck")+2*len("again")), st.BytesSent)
		assert.Equal(t, uint64(back), st.MessagesReceived)
		st = b.Stats()
		assert.Equal(t, uint64(n+1+2), st.MessagesReceived)
		assert.Equal(t, uint64(n*size+big+2*len("again")), st.BytesReceived)
		assert.Equal(t, uint64(back), st.MessagesSent)
		assert.Equal(t, uint64(back*10), st.BytesSent)
		assert.Equal(t, 0, st.InboxDepth)
		// The deliverer counts a message out once it is in Inbox.
		require.Eventually(t, func() bool { return b.Stats().InboxWaiting == 0 }, waitFor, tick)

		// A graceful leave forgets the remote.
		a.CloseRemote(remote(b))
		_, ok = a.RemoteStats(remote(b))
		assert.False(t, ok)
		assert.Empty(t, a.AllRemoteStats())
		assert.Equal(t, cluster.Removals{ConnLost: 1, LocalLeave: 1}, a.Stats().Removals)
		// b counts the removal once it has told of it, just after.
		require.Eventually(t, func() bool { return b.Stats().Removals == cluster.Removals{ConnLost: 1, RemoteLeave: 1} },
			waitFor, tick, "b's removals: %+v", b.Stats().Removals)
	})
}

// A Send that waits for room in a full queue is an event, with how long it
// waited and whether it got room.
func TestQueueFullIsAnEvent(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithSendQueueSize(1024))
		// Nobody reads b's Inbox: once a has sent a window's worth, its
		// queue fills and its Sends wait.
		b := h.node(cluster.WithInboxSize(1), cluster.WithReceiveWindow(wire.InitialWindow))
		mesh(t, b, a)
		timeout := clustertest.Timeout / 4
		a.SetNetworkTimeout(timeout)
		payload := bytes.Repeat([]byte{1}, 1000)
		var err error
		for err == nil {
			err = a.Send(remote(b), payload)
		}
		assert.ErrorIs(t, err, cluster.ErrTimeout)
		full := ev.Wait(t, "queue full", caused(is(cluster.EventQueueFull, b), cluster.ErrTimeout))
		assert.Equal(t, len(payload), full.Bytes)
		assert.GreaterOrEqual(t, full.Wait, timeout)
	})
}
