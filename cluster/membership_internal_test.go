package cluster

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopKey returns the loopback address of port i.
func loopKey(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(i))
}

func TestLeaversForgetTheOldestFirst(t *testing.T) {
	var l leavers
	l.init()
	for i := range maxLeft {
		l.put(loopKey(i+1), departure{nonce: "n"})
	}
	// Leaving again makes 1 the newest: 2 is the oldest now.
	l.put(loopKey(1), departure{nonce: "again"})
	l.put(loopKey(maxLeft+1), departure{})

	d, ok := l.get(loopKey(1))
	assert.True(t, ok, "the leaver that left again is remembered")
	assert.Equal(t, "again", d.nonce)
	_, ok = l.get(loopKey(2))
	assert.False(t, ok, "the oldest leaver is forgotten")
	_, ok = l.get(loopKey(maxLeft + 1))
	assert.True(t, ok)
	assert.Len(t, l.byKey, maxLeft)
	assert.Equal(t, maxLeft, l.order.Len())

	l.remove(loopKey(3))
	_, ok = l.get(loopKey(3))
	assert.False(t, ok)
	assert.Equal(t, maxLeft-1, l.order.Len())
}

func TestReconnectSetTakesEachAddressInTurn(t *testing.T) {
	var s reconnectSet
	s.init()
	assert.Nil(t, s.rotate(), "an empty set has no turn")
	for i := 1; i <= 3; i++ {
		s.put(loopKey(i), "")
	}
	s.get(loopKey(2)).fails = 2
	s.put(loopKey(2), "renamed")
	assert.Equal(t, 2, s.get(loopKey(2)).fails, "a rename keeps the backoff")
	assert.Equal(t, "renamed", s.get(loopKey(2)).name)

	var turns []netip.AddrPort
	for range 4 {
		turns = append(turns, s.rotate().key)
	}
	assert.Equal(t, []netip.AddrPort{loopKey(1), loopKey(2), loopKey(3), loopKey(1)}, turns)

	s.remove(loopKey(2))
	assert.False(t, s.has(loopKey(2)))
	assert.Equal(t, 2, s.len())
	assert.Equal(t, loopKey(3), s.rotate().key)
	assert.Equal(t, loopKey(1), s.rotate().key)
}

func TestNegativeCacheForgetsExpiredEntriesWhenFull(t *testing.T) {
	var d dialPool
	d.init()
	t0 := time.Now()
	for i := range maxFailed {
		d.fail(loopKey(i+1), t0, t0.Add(time.Second))
	}
	require.Len(t, d.failed, maxFailed)

	d.fail(loopKey(maxFailed+1), t0, t0.Add(time.Second))
	assert.False(t, d.recentlyFailed(loopKey(maxFailed+1), t0), "a full cache of live entries takes no more")

	later := t0.Add(2 * time.Second)
	d.fail(loopKey(maxFailed+2), later, later.Add(time.Second))
	assert.True(t, d.recentlyFailed(loopKey(maxFailed+2), later), "expired entries make room")
	assert.Len(t, d.failed, maxFailed-failForgets+1, "fail forgets a bounded number of expired entries")
	assert.False(t, d.recentlyFailed(loopKey(1), later))
}

func TestNodeStateMovesForwardOnClose(t *testing.T) {
	n, err := NewNode("127.0.0.1:0")
	require.NoError(t, err)
	assert.Equal(t, nodeOpen, n.state.get())
	assert.False(t, n.closing())
	changed, closing := n.watch()
	assert.False(t, closing)

	n.Close()
	assert.Equal(t, nodeClosed, n.state.get())
	assert.True(t, n.closing())
	select {
	case <-changed:
	default:
		t.Fatal("closing did not wake the waiters")
	}
	assert.False(t, n.beginClose(), "a closed node does not close again")
	assert.ErrorIs(t, n.SetTags(map[string]string{"a": "b"}), ErrClosed)
	assert.ErrorIs(t, n.WaitMesh(context.Background()), ErrClosed)
	assert.ErrorIs(t, n.join(context.Background(), loopKey(1), byAdd), ErrClosed)
	assert.Equal(t, learnClosing, n.learnOne(loopKey(1), loopKey(2), time.Now(), true))
}

func TestForwardsWaitForTheHeldRemotesOwnList(t *testing.T) {
	var f forwards
	f.init()
	held, free := &peer{key: loopKey(1)}, &peer{key: loopKey(2)}
	f.hold(held)
	f.add(held, "a")
	f.add(free, "b")
	f.add(held, "c")
	assert.True(t, f.isHeld(held))
	assert.Equal(t, map[*peer][]string{free: {"b"}}, f.take(), "what is gathered for a held remote waits")

	<-f.wake // drained, as forwardLoop does before it takes
	f.release(held)
	select {
	case <-f.wake:
	default:
		t.Fatal("release did not wake the loop")
	}
	assert.False(t, f.isHeld(held))
	assert.Equal(t, map[*peer][]string{held: {"a", "c"}}, f.take(), "in the order gathered, once released")
	assert.Empty(t, f.take())
}

func TestAQueuedDialToAnAddressThatLeftIsNotMade(t *testing.T) {
	n, err := NewNode("127.0.0.1:0")
	require.NoError(t, err)
	defer n.Close()
	src, k := loopKey(1), loopKey(2)
	// This test is the dialer that learnOne asks for.
	require.Equal(t, learnSpawn, n.learnOne(src, k, time.Now(), true))
	assert.False(t, n.meshed(), "a list dial is waiting")
	assert.Nil(t, n.closeRemote(k), "k is no remote")

	_, j, _, ok, stale := n.nextDial(false)
	require.True(t, ok)
	assert.True(t, stale, "the dial to an address that left since is taken off")
	assert.Equal(t, k, j.k)
	assert.True(t, n.meshed(), "and counts as done for WaitMesh")
	_, _, _, ok, _ = n.nextDial(false)
	assert.False(t, ok, "the dialer ends with the pool empty")
	assert.Equal(t, learnKnown, n.learnOne(src, k, time.Now(), true), "a later list does not bring it back")
}
