package cluster_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

type events = clustertest.Events

var (
	newEvents = clustertest.NewEvents
	is        = clustertest.Is
	caused    = clustertest.Caused
)

// removalCauses are every cause of a removal.
var removalCauses = []error{cluster.ErrSilence, cluster.ErrWriteStalled, cluster.ErrConnLost, cluster.ErrProtocol,
	cluster.ErrLocalLeave, cluster.ErrRemoteLeave, cluster.ErrReplaced}

// assertCause checks that err, the cause of a removal, matches want and no
// other cause.
func assertCause(t *testing.T, want, err error, who string) {
	t.Helper()
	for _, c := range removalCauses {
		assert.Equal(t, c == want, errors.Is(err, c), "%s: cause %v, want %v", who, err, want)
	}
}

// quiet gives a node health checks so rare that silence never ends a test
// that is about something else.
func quiet() []cluster.Option { return []cluster.Option{cluster.WithHealthyInterval(time.Hour)} }

// Each fault that transport/fault injects shows as its own cause in the
// event that tells of the removal. Faults apply on the dialler's end of a
// connection, so each case says who dials.
func TestEveryFaultHasItsRemovalCause(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		// pair returns a and b, with their options and events, b dialled by
		// a if aDials, else a by b.
		pair := func(t *testing.T, aDials bool, optsA, optsB []cluster.Option) (a, b *cluster.Node, evA, evB *events) {
			evA, evB = newEvents(), newEvents()
			a, b = h.node(append(optsA, evA.Option())...), h.node(append(optsB, evB.Option())...)
			if aDials {
				mesh(t, b, a)
			} else {
				mesh(t, a, b)
			}
			return a, b, evA, evB
		}
		t.Run("black hole", func(t *testing.T) {
			t.Parallel()
			// b, which dials, waits longer than a, so that a, which writes
			// freely and hears nothing, notices first.
			slow := []cluster.Option{cluster.WithNetworkTimeout(4 * clustertest.Timeout)}
			a, b, evA, evB := pair(t, false, nil, slow)
			h.faults.Blackhole(a.String(), b.String())
			assertCause(t, cluster.ErrSilence, evA.WaitRemoved(t, b), "acceptor")
			assert.Equal(t, cluster.Removals{Silence: 1}, a.Stats().Removals)
			// b's writes stall and it hears nothing, not even that a hung
			// up, which waits behind what a sent before: whichever it
			// notices first.
			err := evB.WaitRemoved(t, a)
			assert.ErrorIs(t, err, cluster.ErrTimeout)
			assert.True(t, errors.Is(err, cluster.ErrSilence) || errors.Is(err, cluster.ErrWriteStalled), "dialler: %v", err)
		})
		t.Run("cut one way", func(t *testing.T) {
			t.Parallel()
			a, b, evA, evB := pair(t, false, nil, nil)
			h.faults.Cut(a.String(), b.String())
			assertCause(t, cluster.ErrSilence, evB.WaitRemoved(t, a), "the side that hears nothing")
			assertCause(t, cluster.ErrConnLost, evA.WaitRemoved(t, b), "the side that was hung up on")
		})
		t.Run("writes stalled", func(t *testing.T) {
			t.Parallel()
			a, b, evA, evB := pair(t, true, quiet(), nil)
			a.SetNetworkTimeout(clustertest.Timeout / 4)
			h.faults.Cut(a.String(), b.String())
			require.NoError(t, a.Send(remote(b), []byte("stuck")))
			assertCause(t, cluster.ErrWriteStalled, evA.WaitRemoved(t, b), "the writer")
			assert.Equal(t, cluster.Removals{WriteStalled: 1}, a.Stats().Removals)
			// a's hang-up waits behind the cut like its data.
			assertCause(t, cluster.ErrSilence, evB.WaitRemoved(t, a), "the side that hears nothing, not even the hang-up")
		})
		t.Run("delay over the timeout", func(t *testing.T) {
			t.Parallel()
			a, b, evA, _ := pair(t, true, quiet(), quiet())
			a.SetNetworkTimeout(clustertest.Timeout / 4)
			h.faults.Delay(a.String(), b.String(), clustertest.Timeout/2)
			require.NoError(t, a.Send(remote(b), []byte("late")))
			assertCause(t, cluster.ErrWriteStalled, evA.WaitRemoved(t, b), "the writer")
		})
		t.Run("broken", func(t *testing.T) {
			t.Parallel()
			a, b, evA, evB := pair(t, false, nil, nil)
			h.faults.Break(a.String(), b.String())
			assertCause(t, cluster.ErrConnLost, evA.WaitRemoved(t, b), "acceptor")
			assertCause(t, cluster.ErrConnLost, evB.WaitRemoved(t, a), "dialler")
		})
	})
}

// A goodbye removes the remote on both sides, each with its cause, and
// nobody is redialled.
func TestGracefulLeavesHaveTheirCauses(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		evA, evB := newEvents(), newEvents()
		a, b := h.node(evA.Option()), h.node(evB.Option())
		mesh(t, a, b)
		a.CloseRemote(remote(b))
		assertCause(t, cluster.ErrLocalLeave, evA.WaitRemoved(t, b), "the node that left")
		assertCause(t, cluster.ErrRemoteLeave, evB.WaitRemoved(t, a), "the node left")
		bye := evA.Wait(t, "goodbye", is(cluster.EventGoodbye, b))
		assert.NoError(t, bye.Err, "b acknowledged the goodbye")
		assert.Empty(t, evA.Find(is(cluster.EventReconnect, nil)))
		assert.Empty(t, evB.Find(is(cluster.EventReconnect, nil)))
	})
}

// Input that breaks the protocol removes the peer with ErrProtocol, and a
// peer that comes back on the same address with a new nonce replaces the
// old one, as a restarted node would.
func TestBadInputAndReplacementHaveTheirCauses(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a := h.node(ev.Option())
		raw := rawNode("127.0.0.1:1")
		first := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		waitKnows(t, waitFor, a, raw)
		dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		first.waitHangUp(t)
		assertCause(t, cluster.ErrReplaced, ev.WaitRemoved(t, raw), "replaced")
		assert.Equal(t, cluster.Removals{Replaced: 1}, a.Stats().Removals)
		assert.Equal(t, uint64(2), a.Stats().Handshakes.Admitted)

		ev = newEvents()
		b := h.node(ev.Option())
		p := dialRaw(t, h, b, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		p.write(t, header(1, wire.KindHello)) // a second hello
		p.waitHangUp(t)
		assertCause(t, cluster.ErrProtocol, ev.WaitRemoved(t, raw), "bad input")
		assert.Equal(t, uint64(1), b.Stats().Removals.Protocol)
	})
}

// An observer hears of a connection's whole life, on both sides, in order.
func TestObserverHearsAConnectionsLife(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		evA, evB, also := newEvents(), newEvents(), newEvents()
		a, b := h.node(evA.Option()), h.node(evB.Option(), also.Option())
		mesh(t, a, b) // b dials a

		dial := evB.Wait(t, "dial", is(cluster.EventDial, a))
		assert.NoError(t, dial.Err)
		added := evB.Wait(t, "added", is(cluster.EventAdded, a))
		assert.True(t, added.Dialled)
		assert.Equal(t, a.String(), added.Remote().String())
		accepted := evA.Wait(t, "accepted", is(cluster.EventAccepted, nil))
		assert.NotNil(t, accepted.From)
		assert.False(t, evA.Wait(t, "added", is(cluster.EventAdded, b)).Dialled)
		assert.Zero(t, evA.Wait(t, "peer list", is(cluster.EventPeerList, b)).Count, "b knew nobody else")

		pong := evB.Wait(t, "pong", is(cluster.EventPong, a))
		assert.Positive(t, pong.RTT)
		s, ok := b.RemoteStats(remote(a))
		require.True(t, ok)
		assert.Positive(t, s.RTT)
		assert.Positive(t, s.SmoothedRTT)

		b.Close()
		assertCause(t, cluster.ErrLocalLeave, evB.WaitRemoved(t, a), "b")
		assertCause(t, cluster.ErrRemoteLeave, evA.WaitRemoved(t, b), "a")
		// What b's observer heard came in the order it happened.
		var order []string
		for _, e := range evB.Find(func(e cluster.Event) bool { return e.Addr.String() == a.String() }) {
			if e.Kind != cluster.EventPong {
				order = append(order, e.Kind.String())
			}
		}
		assert.Equal(t, []string{"dial", "added", "peer list", "removed", "goodbye"}, order)
		// Events of different goroutines may reach two observers in
		// different orders: compare what they heard, not its order.
		heard := func(e *events) []string {
			lines := strings.Split(e.String(), "\n")
			slices.Sort(lines)
			return lines
		}
		assert.Equal(t, heard(evB), heard(also), "every observer hears every event")
	})
}

// A handshake that fails says why, on both sides, and the statistics count
// it by outcome.
func TestFailedHandshakesSayWhy(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		evA, evB := newEvents(), newEvents()
		a := h.node(evA.Option(), cluster.WithSecret([]byte("one secret, of 32 bytes or more.")))
		b := h.node(evB.Option(), cluster.WithSecret([]byte("another secret, 32 bytes or more")))
		require.ErrorIs(t, b.Add(a.String()), cluster.ErrAuth)
		failed := evA.Wait(t, "failed handshake", is(cluster.EventHandshakeFailed, nil))
		assert.ErrorIs(t, failed.Err, cluster.ErrAuth)
		assert.False(t, failed.Dialled)
		assert.NotNil(t, failed.From)
		failed = evB.Wait(t, "failed handshake", is(cluster.EventHandshakeFailed, a))
		assert.ErrorIs(t, failed.Err, cluster.ErrAuth)
		assert.True(t, failed.Dialled)
		assert.Equal(t, cluster.Handshakes{Auth: 1}, a.Stats().Handshakes)
		assert.Equal(t, cluster.Handshakes{Auth: 1}, b.Stats().Handshakes)

		c := h.node(evB.Option(), cluster.WithCodec(otherCodec{h.stack.codec}), cluster.WithSecret([]byte("one secret, of 32 bytes or more.")))
		require.ErrorIs(t, c.Add(a.String()), cluster.ErrIncompatible)
		failed = evA.Wait(t, "incompatible handshake", caused(is(cluster.EventHandshakeFailed, nil), cluster.ErrIncompatible))
		assert.ErrorIs(t, failed.Err, cluster.ErrProtocol)
		assert.Equal(t, cluster.Handshakes{Auth: 1, Incompatible: 1}, a.Stats().Handshakes)
		assert.Equal(t, uint64(2), a.Stats().Handshakes.Failed())
	})
}

// addrOf returns the address s names.
func addrOf(s fmt.Stringer) netip.AddrPort { return netip.MustParseAddrPort(s.String()) }

// otherCodec is a codec by another name.
type otherCodec struct{ cluster.Codec }

func (c otherCodec) Name() string { return "not-" + c.Codec.Name() }

// The events of a node say nothing about other nodes, and the default
// String of each names its kind and remote.
func TestEventStrings(t *testing.T) {
	t.Parallel()
	r := rawNode("10.0.0.2:7946")
	for want, e := range map[string]cluster.Event{
		"added 10.0.0.2:7946 (dialled)": {Kind: cluster.EventAdded, Addr: addrOf(r), Dialled: true},
		"removed 10.0.0.2:7946, 3 discarded: cluster: remote said goodbye": {Kind: cluster.EventRemoved, Addr: addrOf(r),
			Err: cluster.ErrRemoteLeave, Count: 3},
		"peer list 10.0.0.2:7946 of 2": {Kind: cluster.EventPeerList, Addr: addrOf(r), Count: 2},
		"EventKind(200)":               {Kind: 200},
	} {
		assert.Equal(t, want, e.String())
	}
	assert.Equal(t, "cluster: remote silent", cluster.ErrSilence.Error())
	assert.ErrorIs(t, cluster.ErrWriteStalled, cluster.ErrTimeout)
	assert.NotErrorIs(t, cluster.ErrConnLost, cluster.ErrTimeout)
	assert.Equal(t, fmt.Sprint(cluster.EventQueueFull), "queue full")
}
