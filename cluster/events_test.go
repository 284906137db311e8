package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestCallbacksFireOncePerEventWithTheFullList(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		rec := newRecorder()
		a, b, c := h.node(rec.Options()...), h.node(), h.node()
		mesh(t, a, b, c)
		rec.WaitEvents(t, map[string]int{"+" + b.String(): 1, "+" + c.String(): 1})
		c.Close()
		rec.WaitEvents(t, map[string]int{"-" + c.String(): 1})
		rec.WaitChanged(t, 3) // RemoteChanged comes after RemoteRemoved
		waitRemotes(t, a, b)

		events := rec.Events()
		assert.ElementsMatch(t, []string{"+" + b.String(), "+" + c.String()}, events[:2])
		assert.Equal(t, []string{"-" + c.String()}, events[2:])
		changed := rec.Changed()
		require.Len(t, changed, 3)
		assert.Len(t, changed[0], 1)
		assert.Equal(t, names(b, c), clustertest.Names(changed[1]...))
		assert.Equal(t, names(b), clustertest.Names(changed[2]...))
	})
}

func TestCallbacksMayCallTheNode(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		// Set through the setters, on the running node the callbacks call.
		seen := make(chan []cluster.Remote, 1)
		a.RemoteAdded(func(r cluster.Remote) {
			assert.NoError(t, a.Send(r, []byte("welcome")))
		})
		a.RemoteChanged(func([]cluster.Remote) { seen <- a.Remotes() })
		require.NoError(t, b.Add(a.String()))
		assert.Equal(t, "welcome", string(receive(t, b).Payload))
		assert.Equal(t, names(b), clustertest.Names(<-seen...))
	})
}

func TestRemovedComesBeforeTheRemoteIsAddedAgain(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		rec := newRecorder()
		a, b := h.node(rec.Options()...), h.node()
		mesh(t, a, b)
		// An ungraceful break: a keeps retrying b and gets it back.
		h.faults.Break(a.String(), b.String())
		rec.WaitEvents(t, map[string]int{"+" + b.String(): 2})
		events := rec.Events()
		assert.Equal(t, []string{"+" + b.String(), "-" + b.String(), "+" + b.String()}, events[:3])
	})
}
