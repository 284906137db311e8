package cluster_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// TestEmptyMessagesCannotPileUpPastTheWindow plays the attacker of empty
// messages: 400,000 Data frames without a payload, written by hand, to a
// node whose Inbox nobody reads. Each costs the window 256 bytes besides
// its payload (WithReceiveWindow), so the node parks at most a window's
// worth, drops the sender once it overdraws the window, and holds at most
// what WithReceiveWindow states: the window, plus one overhead, plus one
// payload of the maximum message size. It measures the heap, so it runs
// alone (not in parallel), on one stack whose connection buffers are the
// kernel's.
func TestEmptyMessagesCannotPileUpPastTheWindow(t *testing.T) {
	const (
		window   = 1 << 20
		maxSize  = 64 << 10
		messages = 400_000
		// The node's own buffers for the connection (its read buffer, at
		// most 32 KiB) and what the rest of the process allocates
		// meanwhile.
		slack = 256 << 10
	)
	h := newHarness(t, stacks[0]) // tcp
	ev := newEvents()
	a := h.node(ev.Option(), cluster.WithInboxSize(1), cluster.WithReceiveWindow(window), cluster.WithMaxMessageSize(maxSize))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
	frames := make([]byte, 0, messages*wire.HeaderSize)
	for range messages {
		frames = wire.AppendHeader(frames, wire.KindData, 0)
	}
	p.conn.Write(frames) // the node hangs up before it has read them all
	p.waitHangUp(t)
	err := ev.WaitRemoved(t, rawNode("127.0.0.1:1"))
	assertCause(t, cluster.ErrProtocol, err, "a")
	assert.ErrorContains(t, err, "flow control")
	frames = nil

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("the node holds %d bytes for the sender's messages", held)
	require.LessOrEqual(t, held, int64(window+wire.MessageOverhead+maxSize+slack))
	runtime.KeepAlive(a)
}
