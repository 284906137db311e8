package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

// TestHealthCheckRemovesASilentRemoteAndReconnectBringsItBack runs with
// intervals far below the defaults, set at construction or on the running
// nodes: either way they bound how soon a black-holed remote is removed and
// comes back, which at the defaults would take minutes.
func TestHealthCheckRemovesASilentRemoteAndReconnectBringsItBack(t *testing.T) {
	t.Parallel()
	const healthy, timeout, reconnect = 100 * time.Millisecond, 300 * time.Millisecond, 200 * time.Millisecond
	for _, how := range []string{"options", "setters"} {
		t.Run(how, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, h *harness) {
				recA, recB := newRecorder(), newRecorder()
				var a, b *cluster.Node
				if how == "options" {
					settings := []cluster.Option{cluster.WithHealthyInterval(healthy),
						cluster.WithNetworkTimeout(timeout), cluster.WithReconnectInterval(reconnect)}
					a = h.Start(h.Base(append(recA.Options(), settings...)...)...)
					b = h.Start(h.Base(append(recB.Options(), settings...)...)...)
				} else {
					a, b = h.Start(h.Base(recA.Options()...)...), h.Start(h.Base(recB.Options()...)...)
				}
				c := h.node()
				mesh(t, a, b, c)
				if how == "setters" {
					for _, n := range []*cluster.Node{a, b} {
						n.SetHealthyInterval(healthy)
						n.SetNetworkTimeout(timeout)
						n.SetReconnectInterval(reconnect)
					}
					// A read sets the silence deadline of the next: one
					// message each way makes both take the new settings.
					require.NoError(t, a.Send(remote(b), []byte("settings")))
					assert.Equal(t, "settings", string(receive(t, b).Payload))
					require.NoError(t, b.Send(remote(a), []byte("settings")))
					assert.Equal(t, "settings", string(receive(t, a).Payload))
				}

				// a and b can no longer hear each other; both still hear c.
				h.faults.Blackhole(a.String(), b.String())
				start := time.Now()
				bound := healthy + timeout + margin
				waitViews(t, bound, map[*cluster.Node][]*cluster.Node{a: {c}, b: {c}})
				t.Logf("removed after %v", time.Since(start))
				recA.WaitEvents(t, map[string]int{"-" + b.String(): 1})
				recB.WaitEvents(t, map[string]int{"-" + a.String(): 1})
				assert.ErrorIs(t, a.Send(remote(b), []byte("x")), cluster.ErrUnknownRemote)

				// Once the network heals, the reconnect loop brings them back.
				h.faults.Heal()
				start = time.Now()
				waitViews(t, reconnect+timeout+margin, map[*cluster.Node][]*cluster.Node{a: {b, c}, b: {a, c}})
				t.Logf("back after %v", time.Since(start))
				waitMesh(t, a, b, c)
				recA.WaitEvents(t, map[string]int{"+" + b.String(): 2})
				require.NoError(t, a.Send(remote(b), []byte("back")))
				assert.Equal(t, "back", string(receive(t, b).Payload))
			})
		})
	}
}

func TestUngracefullyLostRemoteIsRetriedUntilItReturns(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		mesh(t, a, b)
		h.faults.Blackhole(a.String(), b.String())
		waitRemotes(t, a)
		waitRemotes(t, b)
		// Retries keep failing while the black hole lasts...
		before := h.faults.Dials(a.String(), b.String())
		require.Eventually(t, func() bool {
			return h.faults.Dials(a.String(), b.String()) >= before+3
		}, waitFor, tick, "a should dial b 3 more times while the black hole lasts")
		// ...and the next one after it succeeds.
		h.faults.Heal()
		waitMesh(t, a, b)
	})
}

func TestFullInboxBlocksOnlyThatPeersReader(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		// a's inbox holds one message and nobody reads it.
		a := h.node(cluster.WithInboxSize(1))
		recC := newRecorder()
		b, c := h.node(), h.node(recC.Options()...)
		mesh(t, a, b, c)

		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			for b.Send(remote(a), make([]byte, 1024)) == nil {
			}
		}()
		<-flooded // b gave up on a: its queue stayed full, or it dropped a.
		waitRemotes(t, b, c)

		// a still serves c: a's health checks of c pass, and sends work both ways.
		require.NoError(t, a.Send(remote(c), []byte("from a")))
		assert.Equal(t, "from a", string(receive(t, c).Payload))
		for range 5 {
			require.NoError(t, c.Send(remote(a), []byte("to a")))
		}
		time.Sleep(3 * clustertest.Healthy) // to show that several health checks of c pass meanwhile
		assert.Contains(t, remoteNames(a), c.String())
		assert.Zero(t, recC.Count("-"+a.String()), "c must not lose a")

		closed := make(chan struct{})
		go func() { a.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(waitFor):
			t.Fatal("Close blocked on a full inbox")
		}
	})
}
