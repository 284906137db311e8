package cluster_test

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/mem"
)

// Close says goodbye to every remote, RemoteRemoved fires for each, and
// Close returns only once the callbacks of every event before it have
// returned: when it returns, every RemoteRemoved has run, and the last
// RemoteChanged got an empty list.
func TestAuditCloseReturnsAfterTheCallbacksOfItsRemovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	var mu sync.Mutex
	removed := 0
	var last []cluster.Remote
	a := h.node(cluster.WithRemoteRemoved(func(cluster.Remote) {
		mu.Lock()
		defer mu.Unlock()
		removed++
	}), cluster.WithRemoteChanged(func(rs []cluster.Remote) {
		mu.Lock()
		defer mu.Unlock()
		last = rs
	}))
	others := h.nodes(3)
	mesh(t, append(others, a)...)
	a.Close()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 3, removed, "RemoteRemoved calls when Close returned")
	assert.Empty(t, last, "the last RemoteChanged when Close returned")
}

// A remote that left gracefully is neither a remote nor redialled, so
// RemoteStats says false of it and AllRemoteStats leaves it out.
func TestAuditStatsForgetARemoteThatLeftGracefully(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b, c := h.node(), h.node(), h.node()
	mesh(t, a, b, c)
	b.Close()
	a.CloseRemote(remote(c))
	require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
	for _, n := range []*cluster.Node{b, c} {
		_, ok := a.RemoteStats(remote(n))
		assert.False(t, ok, "RemoteStats of %s, which left", n)
	}
	assert.Empty(t, a.AllRemoteStats())
	assert.Zero(t, a.Stats().Reconnecting)
}

// The node sends its first health check within a healthy interval of the
// connection, and the remote answers it.
func TestAuditTheFirstHealthCheckComesWithinAHealthyInterval(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		ev := clustertest.NewEvents()
		a, b := h.node(ev.Option()), h.node()
		require.NoError(t, a.Add(b.String()))
		time.Sleep(a.HealthyInterval())
		synctest.Wait()
		assert.NotEmpty(t, ev.Find(clustertest.Is(cluster.EventPong, b)), "no answer to a health check after a healthy interval:\n%s", ev)
	})
}

// timedEvents is an Observer that keeps the events of one kind about one
// remote, with the time each came.
type timedEvents struct {
	mu   sync.Mutex
	addr string
	at   map[cluster.EventKind][]time.Time
}

// Observe keeps e if it is about the remote.
func (l *timedEvents) Observe(e cluster.Event) {
	if e.Addr.String() != l.addr {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at[e.Kind] = append(l.at[e.Kind], time.Now())
}

// times returns the times of the events of kind k.
func (l *timedEvents) times(k cluster.EventKind) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.at[k]...)
}

// A redial that fails waits 2, then 4 reconnect intervals before the next
// (Limits in the package doc), give or take one interval, since redials
// start on the ticks of the reconnect interval. a reached b itself (Add), so
// it redials b until it answers, not only 3 times. EventDial comes when a
// dial ends: a dial into the black hole starts a network timeout before.
func TestAuditFailedRedialsBackOffTwoThenFourIntervals(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		b := h.node()
		log := &timedEvents{addr: b.String(), at: map[cluster.EventKind][]time.Time{}}
		a := h.node(cluster.WithObserver(log))
		require.NoError(t, a.Add(b.String()))
		h.faults.Blackhole(a.String(), b.String())
		require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
		r := a.ReconnectInterval()
		time.Sleep(20 * (r + a.NetworkTimeout()))
		synctest.Wait()

		failed, dials := log.times(cluster.EventReconnect), log.times(cluster.EventDial)
		require.GreaterOrEqual(t, len(failed), 4, "a redialled b fewer than four times")
		for i, f := range failed[:4] {
			// The dial that follows this failure.
			var next time.Time
			for _, d := range dials {
				if d.After(f) {
					next = d
					break
				}
			}
			require.False(t, next.IsZero(), "no redial after failure %d", i)
			want := 2 * r
			if i > 0 {
				want = 4 * r
			}
			gap := next.Add(-a.NetworkTimeout()).Sub(f)
			t.Logf("failed redial %d: the next began %v later (%.1f intervals)", i+1, gap, float64(gap)/float64(r))
			assert.GreaterOrEqual(t, gap, want-r, "the wait after failed redial %d", i+1)
			assert.LessOrEqual(t, gap, want+r, "the wait after failed redial %d", i+1)
		}
	})
}

// Remotes, RemoteChanged's list and AllRemoteStats are sorted by address:
// by IP, then by port, as numbers.
func TestAuditRemotesAreSortedByAddress(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	var mu sync.Mutex
	var lists [][]cluster.Remote
	hub := memNode(t, nw, "10.0.0.1:7946", cluster.WithRemoteChanged(func(rs []cluster.Remote) {
		mu.Lock()
		defer mu.Unlock()
		lists = append(lists, rs)
	}))
	for _, addr := range []string{"10.0.0.10:7946", "10.0.0.9:7946", "10.0.0.9:800", "10.0.0.100:1", "10.0.0.2:9000"} {
		require.NoError(t, memNode(t, nw, addr).Add(hub.String()))
	}
	require.NoError(t, hub.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 5 }))
	want := []string{"10.0.0.2:9000", "10.0.0.9:800", "10.0.0.9:7946", "10.0.0.10:7946", "10.0.0.100:1"}
	var remotes, stats []string
	for _, r := range hub.Remotes() {
		remotes = append(remotes, r.String())
	}
	for _, s := range hub.AllRemoteStats() {
		stats = append(stats, s.Remote.String())
	}
	assert.Equal(t, want, remotes)
	assert.Equal(t, want, stats)
	ap := func(r cluster.Remote) netip.AddrPort { return netip.MustParseAddrPort(r.String()) }
	mu.Lock()
	defer mu.Unlock()
	for _, rs := range lists {
		assert.True(t, slices.IsSortedFunc(rs, func(x, y cluster.Remote) int { return ap(x).Compare(ap(y)) }), "%v", rs)
	}
}

// A callback setter given nil removes the callback: RemoteChanged, which
// follows each RemoteAdded in order, runs, and the removed RemoteAdded not.
func TestAuditNilCallbackSetterRemovesTheCallback(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	var mu sync.Mutex
	added := 0
	changed := make(chan struct{}, 4)
	a := memNode(t, nw, "10.0.0.1:0", cluster.WithRemoteAdded(func(cluster.Remote) {
		mu.Lock()
		defer mu.Unlock()
		added++
	}))
	a.RemoteAdded(nil)
	a.RemoteChanged(func([]cluster.Remote) { changed <- struct{}{} })
	require.NoError(t, memNode(t, nw, "10.0.0.2:0").Add(a.String()))
	select {
	case <-changed:
	case <-time.After(waitFor):
		t.Fatal("no RemoteChanged")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Zero(t, added)
}

// RemoteTagsChanged hears of a remote's later tags, not of those it came
// with, after its RemoteAdded and before its RemoteRemoved, with a map that
// is its own.
func TestAuditRemoteTagsChangedGetsItsOwnMapInOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	var mu sync.Mutex
	var got []map[string]string
	var log []string
	a := h.node(cluster.WithRemoteTagsChanged(func(r cluster.Remote, tags map[string]string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, tags)
		log = append(log, "tags "+tags["v"])
	}), cluster.WithRemoteAdded(func(cluster.Remote) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, "added")
	}), cluster.WithRemoteRemoved(func(cluster.Remote) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, "removed")
	}))
	b := h.node(cluster.WithTags(map[string]string{"v": "0"}))
	mesh(t, a, b)
	require.NoError(t, b.SetTags(map[string]string{"v": "1"}))
	waitTags := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && got[len(got)-1]["v"] == "1"
	}
	require.Eventually(t, waitTags, waitFor, tick)
	mu.Lock()
	got[len(got)-1]["v"] = "mine"
	mu.Unlock()
	info, _ := a.Info(remote(b))
	assert.Equal(t, "1", info.Tags["v"], "the callback's map is its own")
	b.Close()
	require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(log, "removed")
	}, waitFor, tick)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "added", log[0], "tags come after RemoteAdded: %v", log)
	assert.Equal(t, "removed", log[len(log)-1], "and before RemoteRemoved: %v", log)
	assert.NotContains(t, log, "tags 0", "the tags a remote has when it connects come with it: %v", log)
}

// Close says goodbye to every remote at once: two remotes that never
// acknowledge cost it one network timeout, not one each, and each goodbye
// ends with an EventGoodbye that matches ErrTimeout.
func TestAuditCloseSaysGoodbyeToEveryRemoteAtOnce(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		ev := clustertest.NewEvents()
		a, b, c := h.node(ev.Option()), h.node(), h.node()
		mesh(t, a, b, c)
		h.faults.Blackhole(a.String(), b.String())
		h.faults.Blackhole(a.String(), c.String())
		start := time.Now()
		a.Close()
		took := time.Since(start)
		assert.GreaterOrEqual(t, took, a.NetworkTimeout(), "Close did not wait for the acknowledgements")
		assert.Less(t, took, 2*a.NetworkTimeout(), "Close said goodbye one remote after the other")
		for _, n := range []*cluster.Node{b, c} {
			goodbyes := ev.Find(clustertest.Is(cluster.EventGoodbye, n))
			require.Len(t, goodbyes, 1, "goodbyes to %s", n)
			assert.ErrorIs(t, goodbyes[0].Err, cluster.ErrTimeout)
		}
	})
}

// A node with an advertised address is known by it everywhere: in its
// remotes' lists, as the From of its messages, which they answer at.
func TestAuditAnAdvertisedAddressIsTheNodesRemoteEverywhere(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	a := memNode(t, nw, "10.0.0.1:7946")
	b := memNode(t, nw, "10.0.0.2:7946", cluster.WithAdvertiseAddr("10.0.0.2:0"))
	c := memNode(t, nw, "0.0.0.0:7947", cluster.WithAdvertiseAddr("10.0.0.3:0"))
	require.NoError(t, b.Add(a.String()))
	require.NoError(t, c.Add(a.String()))
	assert.Equal(t, "10.0.0.3:7947", c.Self().String())
	ctx := testContext(t)
	require.NoError(t, c.WaitMesh(ctx))
	require.NoError(t, b.Wait(ctx, func(rs []cluster.Remote) bool { return slices.ContainsFunc(rs, c.Self().Equal) }))
	require.NoError(t, c.Send(b.Self(), []byte("hello")))
	m := <-b.Inbox
	assert.Equal(t, c.Self().String(), m.From.String())
	require.NoError(t, b.Send(m.From, []byte("back")))
	assert.Equal(t, "back", string((<-c.Inbox).Payload))
	for _, n := range []*cluster.Node{a, b} {
		assert.True(t, slices.ContainsFunc(n.Remotes(), c.Self().Equal), "%s knows c as %s: %v", n, c.Self(), n.Remotes())
	}
}

// Add fails with ErrIncompatible for an address where something other than
// a peerweave node answers: a server that greets in its own protocol, and
// one that answers and hangs up.
func TestAuditAddOfSomethingElseIsIncompatible(t *testing.T) {
	t.Parallel()
	for name, greet := range map[string]func(net.Conn){
		"greets and waits": func(c net.Conn) {
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			_, _ = io.Copy(io.Discard, c) // until the node hangs up
		},
		"answers and hangs up": func(c net.Conn) {
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			var wg sync.WaitGroup
			t.Cleanup(wg.Wait)
			t.Cleanup(func() { l.Close() })
			wg.Go(func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					wg.Go(func() {
						defer c.Close()
						greet(c)
					})
				}
			})
			n := clustertest.NewHarness(t, clustertest.TCPTransports()).Node()
			err = n.Add(l.Addr().String())
			assert.ErrorIs(t, err, cluster.ErrIncompatible)
			assert.Empty(t, n.Remotes())
		})
	}
}

// A slow callback delays the callbacks after it, not the node: while a
// RemoteAdded blocks, other nodes join, messages and requests cross, and
// the callbacks queued behind it run, in order, once it returns.
func TestAuditASlowCallbackDelaysOnlyTheCallbacksAfterIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	release := make(chan struct{})
	var mu sync.Mutex
	var added []string
	a := h.node(cluster.WithRequestHandler(echo), cluster.WithRemoteAdded(func(r cluster.Remote) {
		mu.Lock()
		first := len(added) == 0
		added = append(added, r.String())
		mu.Unlock()
		if first {
			<-release
		}
	}))
	b, c := h.node(), h.node()
	require.NoError(t, b.Add(a.String()))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(added) == 1 }, waitFor, tick)
	require.NoError(t, c.Add(a.String()))
	require.NoError(t, b.Send(remote(a), []byte("while blocked")))
	assert.Equal(t, "while blocked", string(receive(t, a).Payload))
	_, err := c.Request(testContext(t), remote(a), []byte("q"))
	require.NoError(t, err)
	require.NoError(t, a.Send(remote(c), []byte("back")))
	assert.Equal(t, "back", string(receive(t, c).Payload))
	mu.Lock()
	assert.Len(t, added, 1, "a callback ran while the one before it blocked")
	mu.Unlock()
	close(release)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(added) == 2 }, waitFor, tick)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{b.String(), c.String()}, added)
}
