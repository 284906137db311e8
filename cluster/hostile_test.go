package cluster_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// These tests extend badinput_test.go past a single connection that breaks
// the protocol at once: peers that stall, lie about sizes, or say things out
// of turn.

func TestHalfAFrameThenSilenceIsDroppedAfterTheSilenceLimit(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a, b := h.node(ev.Option()), h.node()
		mesh(t, a, b)
		const timeout = 300 * time.Millisecond
		a.SetNetworkTimeout(timeout)
		p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		waitKnows(t, waitFor, a, b, rawNode("127.0.0.1:1"))

		// Half of a data frame, then nothing: not even the answers to a's
		// health checks, which would have to wait behind the frame.
		start := time.Now()
		p.write(t, append(header(1001, wire.KindData), make([]byte, 500)...))
		p.waitHangUp(t)
		elapsed := time.Since(start)
		assert.GreaterOrEqual(t, elapsed, clustertest.Healthy+timeout, "dropped before the silence limit")
		assert.Less(t, elapsed, clustertest.Healthy+timeout+margin)
		assertCause(t, cluster.ErrSilence, ev.WaitRemoved(t, rawNode("127.0.0.1:1")), "a")

		// b was not disturbed.
		require.NoError(t, b.Send(remote(a), []byte("still here")))
		assert.Equal(t, "still here", string(receive(t, a).Payload))
		assert.Equal(t, names(b), remoteNames(a))
	})
}

// rawNode stands for a raw peer in a list of nodes: only its name counts.
type rawNode string

func (r rawNode) String() string { return string(r) }

func TestUnsolicitedByeAckDoesNotLeaveAHalfDeadRemote(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		waitKnows(t, waitFor, a, b, rawNode("127.0.0.1:1"))

		// An acknowledgement of a goodbye a never said. The peer keeps
		// reading what a sends, so a's writes go through.
		p.write(t, header(1, wire.KindByeAck))
		waitKnows(t, detection, a, b)
	})
}

func TestHelloClaimingTheNodesOwnAddressIsRefused(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		rec := newRecorder()
		a, b := h.node(rec.Options()...), h.node()
		mesh(t, a, b)
		p := dialRaw(t, h, a, nil, false)
		nonce := make([]byte, 16)
		rand.Read(nonce)
		p.write(t, p.frame(wire.AppendPreamble(nil, h.stack.codec.Name()), wire.KindHello,
			&wire.Hello{Addr: a.String(), Nonce: nonce}))
		p.waitHangUp(t)
		assert.Equal(t, names(b), remoteNames(a))

		// Had a counted the impostor as a remote even for a moment, its
		// callbacks would have said so before they say that b left.
		b.Close()
		rec.WaitEvents(t, map[string]int{"-" + b.String(): 1})
		assert.Equal(t, []string{"+" + b.String(), "-" + b.String()}, rec.Events(),
			"a took a peer claiming its own address")
	})
}
