package cluster_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// A peer that sends past the window the node granted it breaks the protocol:
// it is dropped with a logged reason, and the node serves everyone else.
func TestPeerThatOverdrawsItsWindowIsDropped(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		const size = wire.InitialWindow
		// Nobody reads a's Inbox, which holds one message: past it, the
		// window of 64 KiB is all the peer may send.
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithMaxMessageSize(size), cluster.WithInboxSize(1), cluster.WithReceiveWindow(size))
		b := h.node()
		mesh(t, a, b)
		p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		var frames []byte
		for range 3 { // one into Inbox, which frees its bytes; one parked; one too many
			frames = append(frames, header(size+1, wire.KindData)...)
			frames = append(frames, make([]byte, size)...)
		}
		p.conn.Write(frames) // the node may hang up before it has read them all
		p.waitHangUp(t)
		err := ev.WaitRemoved(t, rawNode("127.0.0.1:1"))
		assertCause(t, cluster.ErrProtocol, err, "a")
		assert.ErrorContains(t, err, "flow control")
		assert.Equal(t, names(b), remoteNames(a))
	})
}

// A delivered Message is the application's: changing it changes nothing the
// node holds, and neither does changing what Addr returns.
func TestMessagesAndAddrAliasNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		require.NoError(t, b.Send(remote(a), []byte("one")))
		require.NoError(t, b.Send(remote(a), []byte("two")))
		first := receive(t, a)
		want := first.From.String()
		for i := range first.From.IP {
			first.From.IP[i] = 0xff
		}
		first.From.Port = 1
		second := receive(t, a)
		assert.Equal(t, want, second.From.String(), "a message's sender changed with another's")
		assert.Equal(t, "two", string(second.Payload))
		require.NoError(t, a.Send(second.From, []byte("back")))
		assert.Equal(t, "back", string(receive(t, b).Payload))

		addr := a.Addr()
		before := addr.String()
		addr.IP[0], addr.Port = 0, 1
		assert.Equal(t, before, a.Addr().String())
		require.NoError(t, b.Send(remote(a), []byte("three")))
		assert.Equal(t, "three", string(receive(t, a).Payload))
	})
}

// A Message the application keeps holds only its own payload in memory, not
// those of the messages delivered around it.
func TestARetainedMessagePinsNoOtherPayload(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node()
	mesh(t, a, b)
	require.NoError(t, b.Send(remote(a), []byte("small")))
	kept := receive(t, a)
	const big, count = 8 << 20, 10
	for range count {
		require.NoError(t, b.Send(remote(a), make([]byte, big)))
		assert.Len(t, receive(t, a).Payload, big)
	}
	// Close returns once the nodes' goroutines have stopped: b's writer
	// lets go of the last payload and a's reader of its buffer, which a
	// loaded machine may not have scheduled them to do yet when a's Inbox
	// got the message. Only what the application keeps stays.
	a.Close()
	b.Close()
	after := heap()
	assert.Equal(t, "small", string(kept.Payload))
	// Every big payload is garbage now; what stays is a fraction of one.
	assert.Less(t, int64(after)-int64(before), int64(big), "heap grew by %d bytes", int64(after)-int64(before))
	runtime.KeepAlive(kept)
}

// Close called from a callback shuts the node down and returns, without
// waiting for the callback that called it; later calls return too.
func TestCloseFromEachCallbackReturns(t *testing.T) {
	callbacks := map[string]func(closeIt func()) cluster.Option{
		"RemoteAdded":   func(f func()) cluster.Option { return cluster.WithRemoteAdded(func(cluster.Remote) { f() }) },
		"RemoteRemoved": func(f func()) cluster.Option { return cluster.WithRemoteRemoved(func(cluster.Remote) { f() }) },
		"RemoteChanged": func(f func()) cluster.Option { return cluster.WithRemoteChanged(func([]cluster.Remote) { f() }) },
		"RemoteTagsChanged": func(f func()) cluster.Option {
			return cluster.WithRemoteTagsChanged(func(cluster.Remote, map[string]string) { f() })
		},
	}
	for name, callback := range callbacks {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, memStack())
			var a *cluster.Node
			ready := make(chan struct{})
			closed := make(chan struct{})
			once := false
			a = h.node(callback(func() {
				<-ready
				if once {
					return
				}
				once = true
				a.Close()
				close(closed)
			}))
			close(ready)
			b := h.node()
			require.NoError(t, b.Add(a.String()))
			switch name {
			case "RemoteRemoved":
				b.Close()
			case "RemoteTagsChanged":
				require.NoError(t, b.SetTags(map[string]string{"role": "changed"}))
			}
			select {
			case <-closed:
			case <-time.After(waitFor):
				t.Fatalf("Close from %s did not return", name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			assert.ErrorIs(t, a.Wait(ctx, func([]cluster.Remote) bool { return false }), cluster.ErrClosed)
			a.Close()
			_, open := <-a.Inbox
			assert.False(t, open, "Inbox still open")
		})
	}
}

// A payload larger than the receive window crosses it, a fragment at a time,
// and so does one that comes while messages wait for room in Inbox: once the
// application reads, everything arrives, in order.
func TestPayloadsLargerThanTheWindowCrossIt(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		const window = wire.InitialWindow
		a := h.node(cluster.WithReceiveWindow(window), cluster.WithInboxSize(1))
		b := h.node()
		mesh(t, a, b)
		big := bytes.Repeat([]byte("window"), 10*window/6)
		// Nobody reads a's Inbox yet: the first message fills it, the
		// second waits in a, and the big one comes while it does.
		for _, m := range [][]byte{[]byte("one"), []byte("two"), big, []byte("after")} {
			require.NoError(t, b.Send(remote(a), m))
		}
		for _, want := range [][]byte{[]byte("one"), []byte("two"), big, []byte("after")} {
			require.True(t, bytes.Equal(want, receive(t, a).Payload))
		}
		// And with nothing parked, straight through.
		require.NoError(t, b.Send(remote(a), big))
		require.True(t, bytes.Equal(big, receive(t, a).Payload))
	})
}
