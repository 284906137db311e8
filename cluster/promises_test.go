package cluster_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of this file check what the documentation promises and a test
// written from the documentation alone found untrue, or unsaid.

// A name is 1 to MaxNameLen bytes: the empty name is refused as a long one
// is, with an error that says what a name may be.
func TestNamesAreOneTo128Bytes(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	for _, bad := range []string{"", strings.Repeat("n", cluster.MaxNameLen+1)} {
		_, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(nw), cluster.WithName(bad))
		require.Error(t, err, "a name of %d bytes", len(bad))
		assert.Contains(t, err.Error(), "a name is 1 to 128 bytes")
	}
	for _, good := range []string{"n", strings.Repeat("n", cluster.MaxNameLen)} {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(nw), cluster.WithName(good))
		require.NoError(t, err, "a name of %d bytes", len(good))
		assert.Equal(t, good, n.Name())
		n.Close()
	}
}

// Requests and replies count as messages in Stats and RemoteStats, their
// payloads as bytes: a request is one message sent by the requester and
// received by the remote, its reply one the other way.
func TestRequestsAndRepliesCountAsMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	b := h.node(cluster.WithRequestHandler(func(context.Context, *cluster.Message) ([]byte, error) {
		return make([]byte, 20), nil
	}))
	a := h.node()
	mesh(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := a.Request(ctx, remote(b), make([]byte, 10))
	require.NoError(t, err)
	for _, ans := range a.Query(ctx, make([]byte, 10)).Wait() {
		require.NoError(t, ans.Err)
	}

	as, bs := a.Stats(), b.Stats()
	assert.Equal(t, [4]uint64{2, 20, 2, 40}, [4]uint64{as.MessagesSent, as.BytesSent, as.MessagesReceived, as.BytesReceived}, "the requester")
	assert.Equal(t, [4]uint64{2, 40, 2, 20}, [4]uint64{bs.MessagesSent, bs.BytesSent, bs.MessagesReceived, bs.BytesReceived}, "the remote")
	ar, ok := a.RemoteStats(remote(b))
	require.True(t, ok)
	assert.Equal(t, [4]uint64{2, 20, 2, 40}, [4]uint64{ar.MessagesSent, ar.BytesSent, ar.MessagesReceived, ar.BytesReceived}, "the requester's remote")
}

// A peer refused for its name or its label counts as a Rejected handshake,
// on both sides.
func TestNameAndLabelRefusalsCountAsRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a := h.node(cluster.WithName("web-0"), cluster.WithLabel("prod"))
	twin := h.node(cluster.WithName("web-0"), cluster.WithLabel("prod"))
	staging := h.node(cluster.WithLabel("staging"))
	require.ErrorIs(t, twin.Add(a.String()), cluster.ErrNameConflict)
	require.ErrorIs(t, staging.Add(a.String()), cluster.ErrLabelMismatch)

	ev := func(n *cluster.Node) func() bool {
		return func() bool { return n.Stats().Handshakes.Rejected >= 1 }
	}
	assert.Eventually(t, func() bool { return a.Stats().Handshakes.Rejected == 2 }, waitFor, tick, "the acceptor refused two")
	assert.Eventually(t, ev(twin), waitFor, tick, "the node refused for its name")
	assert.Eventually(t, ev(staging), waitFor, tick, "the node refused for its label")
	for _, n := range []*cluster.Node{a, twin, staging} {
		hs := n.Stats().Handshakes
		assert.Equal(t, hs.Rejected, hs.Failed(), "%s: every failure is a refusal", n)
	}
}

// When Add returns nil, the remote has registered this node too: its
// Remotes list the node and a Send to it succeeds, though its RemoteAdded
// callback may still be on its way.
func TestAddReturnsOnceTheRemoteHasRegisteredTheNode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a := h.node()
	for round := range 20 {
		b := h.node()
		require.NoError(t, b.Add(a.String()))
		assert.True(t, slices.ContainsFunc(a.Remotes(), remote(b).Equal), "round %d: a knows b", round)
		require.NoError(t, a.Send(remote(b), []byte("at once")), "round %d", round)
		assert.Equal(t, "at once", string(receive(t, b).Payload))
		b.Close()
	}
}

// The send queue is counted in bytes (frame headers included), not in
// messages: a queue of 16 KiB holds about sixteen 1 KiB messages.
func TestTheSendQueueIsCountedInBytes(t *testing.T) {
	t.Parallel()
	const queue, size = 16 << 10, 1 << 10
	h := newHarness(t, memStack())
	a := h.node(cluster.WithSendQueueSize(queue), cluster.WithNetworkTimeout(2*waitFor))
	b := h.node(cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10)) // reads nothing
	mesh(t, a, b)
	full, cancel := context.WithCancel(context.Background())
	cancel() // a Send that would wait for room fails at once
	var err error
	for range 1 << 12 {
		if err = a.SendContext(full, remote(b), make([]byte, size)); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, context.Canceled)
	rs, ok := a.RemoteStats(remote(b))
	require.True(t, ok)
	assert.LessOrEqual(t, rs.QueuedBytes, queue)
	assert.Greater(t, rs.QueuedBytes+size, queue, "the queue is full")
	assert.InDelta(t, queue/size, rs.QueuedMessages, 1)
	go drain(b) // so that a's goodbye, behind its queue, gets through when the test ends
}
