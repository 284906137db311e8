package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestARedialAfterAGoodbyeIsRefused(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		evB := newEvents()
		a, b := h.node(), h.node(evB.Option())
		mesh(t, a, b)
		// b never hears a's goodbye: the connection breaks under it, and
		// b takes a for lost.
		h.faults.Blackhole(a.String(), b.String())
		a.CloseRemote(remote(b))
		h.faults.Break(a.String(), b.String())
		h.faults.Heal()
		assert.NotErrorIs(t, evB.WaitRemoved(t, a), cluster.ErrRemoteLeave)

		// a refuses b's redial, and b stops redialling.
		evB.Wait(t, "a refused redial", func(e cluster.Event) bool {
			return e.Kind == cluster.EventReconnect && errors.Is(e.Err, cluster.ErrRejected)
		})
		dials := h.faults.Dials(b.String(), a.String())
		time.Sleep(5 * clustertest.Reconnect) // to show that nothing happens meanwhile
		assert.Equal(t, dials, h.faults.Dials(b.String(), a.String()), "b redialled a")
		assert.Empty(t, a.Remotes())
		assert.Empty(t, b.Remotes())

		// Add, on either side, brings them together again.
		require.NoError(t, b.Add(a.String()))
		waitMesh(t, a, b)
	})
}
