package cluster_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
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
