package cluster_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// A stranger can name any address in its hello: the node must not dial a
// third party for it every reconnect interval, forever. It redials a
// claimed address it never reached a few times, as an honest remote that
// crashed may be back there, then gives up on it.
func TestAddressClaimedInAHelloIsRedialledOnlyAFewTimes(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithReconnectInterval(20*time.Millisecond))
		// A stranger connects claiming a third party's address, then
		// hangs up without a goodbye, as a crashed remote would.
		p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		p.conn.Close()
		ev.WaitRemoved(t, rawNode("127.0.0.1:1"))
		require.Eventually(t, func() bool { return a.Stats().Reconnecting == 0 }, waitFor, tick,
			"a gives up on an address it never reached, which refuses every redial")
	})
}

// A remote that sends tags frames past the limit of a healthy interval is
// dropped, as one that breaks the protocol.
func TestTagsFloodPastTheLimitDropsTheRemote(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node(quiet()...)
		p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		var out []byte
		for i := range cluster.MaxTagsFrames + 1 {
			out = p.frame(out, wire.KindTags, &wire.TagsUpdate{Version: uint64(i + 1), Tags: []string{"k", "v"}})
		}
		p.write(t, out)
		p.waitHangUp(t)
	})
}

// Remotes that answer nothing and never open their window fill their send
// queues: a Broadcast waits for them all at once, so it takes one network
// timeout, not one per stalled remote.
func TestBroadcastWaitsForStalledRemotesAtOnce(t *testing.T) {
	const stalled = 4
	const timeout = time.Second
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node(append(quiet(), cluster.WithNetworkTimeout(timeout), cluster.WithSendQueueSize(1<<10))...)
		for i := range stalled {
			nonce := make([]byte, 16)
			rand.Read(nonce)
			dialRawHello(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()),
				&wire.Hello{Addr: fmt.Sprintf("127.0.0.1:%d", i+1), Nonce: nonce})
		}
		require.Eventually(t, func() bool { return len(a.Remotes()) == stalled }, waitFor, 10*time.Millisecond)
		// Fill every queue: the peers grant no window past the first.
		for _, r := range a.Remotes() {
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				err := a.SendContext(ctx, r, make([]byte, 512))
				cancel()
				if err != nil {
					break
				}
			}
		}
		start := time.Now()
		a.Broadcast(make([]byte, 512))
		elapsed := time.Since(start)
		assert.GreaterOrEqual(t, elapsed, timeout, "a full queue did not wait")
		assert.Less(t, elapsed, stalled*timeout/2, "Broadcast waited for stalled remotes one after the other")
	})
}
