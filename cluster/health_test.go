package cluster_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
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
		mesh(t, b, a) // a dials b: a node redials only what it reached itself
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

// An Inbox that nobody reads pauses the remotes that send to it, and only
// them: their Sends wait and time out once the node's window is full, nobody
// is removed on either side, and every message a Send accepted arrives, in
// order, once the application reads again.
func TestUnreadInboxPausesSendersAndLosesNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		const timeout = 500 * time.Millisecond
		opts := func(extra ...cluster.Option) []cluster.Option {
			return append([]cluster.Option{cluster.WithMaxMessageSize(64 << 10), cluster.WithNetworkTimeout(timeout)}, extra...)
		}
		recA, recB, recC := newRecorder(), newRecorder(), newRecorder()
		// a's inbox holds one message, and a's window 64 KiB more.
		a := h.node(opts(append(recA.Options(), cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10))...)...)
		b := h.node(opts(append(recB.Options(), cluster.WithSendQueueSize(64<<10))...)...)
		c := h.node(opts(recC.Options()...)...)
		mesh(t, a, b, c)

		// b sends numbered messages while nobody reads a's Inbox, until its
		// Sends have failed for three network timeouts in a row. A Send
		// may time out before a's window is full, on a machine too busy to
		// run b's writer for a timeout, so a success resets the run; what
		// a's window bounds is how much b gets accepted in all.
		var accepted []string
		var stalled time.Time
		for i := 0; stalled.IsZero() || time.Since(stalled) < 3*timeout; i++ {
			payload := fmt.Sprintf("%d", i)
			err := b.Send(remote(a), append([]byte(payload), make([]byte, 1000)...))
			if err == nil {
				accepted = append(accepted, payload)
				stalled = time.Time{}
				continue
			}
			require.ErrorIs(t, err, cluster.ErrTimeout)
			if stalled.IsZero() {
				stalled = time.Now()
			}
		}
		require.NotEmpty(t, accepted)
		// a's inbox (one message), its window and b's send queue: 64 KiB
		// each, doubled for framing and the message a's deliverer holds.
		require.LessOrEqual(t, len(accepted)*1000, 2*(64<<10+64<<10), "b's sends were not held back by a's window")

		// Meanwhile a and c still serve each other, and a still answers
		// health checks: nobody lost anybody.
		require.NoError(t, a.Send(remote(c), []byte("from a")))
		assert.Equal(t, "from a", string(receive(t, c).Payload))
		for _, r := range []*recorder{recA, recB, recC} {
			assert.Zero(t, r.Count("-"+a.String())+r.Count("-"+b.String())+r.Count("-"+c.String()), "a remote was removed")
		}

		// Every accepted message arrives, in order, and then b's next one:
		// none of those that timed out.
		require.NoError(t, b.Send(remote(a), []byte("last")))
		for _, want := range accepted {
			m := receive(t, a)
			require.Equal(t, want, string(bytes.TrimRight(m.Payload, "\x00")))
		}
		assert.Equal(t, "last", string(receive(t, a).Payload))

		closed := make(chan struct{})
		go func() { a.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(waitFor):
			t.Fatal("Close blocked")
		}
	})
}
