package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestLeavingMidTransferIsGraceful(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		for _, how := range []string{"CloseRemote", "Close"} {
			t.Run(how, func(t *testing.T) {
				evB := newEvents()
				a, b := h.node(quiet()...), h.node(append(quiet(), evB.Option())...)
				mesh(t, a, b)
				// Both send bulk data, so that the leaver has some unread
				// when it leaves and the other side some unsent.
				payload := make([]byte, 512<<10)
				for range 4 {
					require.NoError(t, a.Send(remote(b), payload))
					require.NoError(t, b.Send(remote(a), payload))
				}
				if how == "Close" {
					a.Close()
				} else {
					a.CloseRemote(remote(b))
				}
				assert.ErrorIs(t, evB.WaitRemoved(t, a), cluster.ErrRemoteLeave)
				dials := h.faults.Dials(b.String(), a.String())
				time.Sleep(5 * clustertest.Reconnect) // to show that nothing happens meanwhile
				assert.Equal(t, dials, h.faults.Dials(b.String(), a.String()), "b redialled a")
			})
		}
	})
}
