package cluster_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
)

// Settings of the slow-link tests: a payload that takes more than five
// network timeouts to cross a link shaped to slowLink.
const (
	slowTimeout = 500 * time.Millisecond
	slowPayload = 2 << 20
)

var slowLink = fault.Link{Bandwidth: 800 << 10, Latency: 5 * time.Millisecond}

// slowPair returns two meshed nodes with a short network timeout, whose link
// from a to b is slowLink, and their recorders. a dials b, so that its
// writes meet the link as they leave it, as on a real one (transport/fault
// shapes the acceptor's writes as the dialler reads them, behind the inner
// transport's buffers). The slow-link tests are about time, so they run in
// synctest bubbles (forEachCodecInABubble), where the link's rate and the
// timeouts are exact.
func slowPair(t *testing.T, h *harness) (a, b *cluster.Node, recA, recB *recorder) {
	recA, recB = newRecorder(), newRecorder()
	// a's queue holds the whole payload and what follows it.
	a = h.node(append(recA.Options(), cluster.WithNetworkTimeout(slowTimeout), cluster.WithSendQueueSize(2*slowPayload))...)
	b = h.node(append(recB.Options(), cluster.WithNetworkTimeout(slowTimeout))...)
	mesh(t, b, a)
	h.faults.Shape(a.String(), b.String(), slowLink)
	return a, b, recA, recB
}

// A payload that takes five network timeouts to cross a slow link arrives,
// and nobody is removed: the timeout bounds a connection that makes no
// progress, not a transfer. A small message sent after it arrives after it,
// and a small one the other way, while it crosses, does not wait for it.
func TestALargePayloadCrossesASlowLinkAndKeepsItsPeer(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		a, b, recA, recB := slowPair(t, h)
		big := bytes.Repeat([]byte("0123456789abcdef"), slowPayload/16)
		start := time.Now()
		require.NoError(t, a.Send(remote(b), big))
		require.NoError(t, a.Send(remote(b), []byte("after")))
		require.NoError(t, b.Send(remote(a), []byte("meanwhile")))
		assert.Equal(t, "meanwhile", string(receive(t, a).Payload))
		assert.Less(t, time.Since(start), slowTimeout, "a small message waited behind a large one going the other way")

		m := receive(t, b)
		took := time.Since(start)
		require.True(t, bytes.Equal(big, m.Payload), "the large payload arrived damaged")
		assert.Equal(t, "after", string(receive(t, b).Payload))
		assert.GreaterOrEqual(t, took, 5*slowTimeout, "the link was not slow enough for this test to mean anything")
		assert.Zero(t, recA.Count("-"+b.String()), "a dropped b")
		assert.Zero(t, recB.Count("-"+a.String()), "b dropped a")
	})
}

// CloseRemote during a slow transfer completes within the network timeout:
// the goodbye overtakes the rest of the payload, which is discarded.
func TestCloseRemoteDuringASlowTransferCompletesInTime(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		a, b, _, recB := slowPair(t, h)
		require.NoError(t, a.Send(remote(b), make([]byte, slowPayload)))
		start := time.Now()
		a.CloseRemote(remote(b))
		// In virtual time, the bound is the timeout itself.
		assert.LessOrEqual(t, time.Since(start), slowTimeout, "CloseRemote waited for the transfer")
		recB.WaitEvents(t, map[string]int{"-" + a.String(): 1})
		h.Logs.Wait(t, waitFor, "WARN", "closing remote before its queued messages could go out", "discarded=1")
		select {
		case m := <-b.Inbox:
			t.Fatalf("b received %d bytes of a payload cut short", len(m.Payload))
		default:
		}
	})
}
