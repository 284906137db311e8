package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

func TestCallbacksFireOncePerEventWithTheFullList(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b, c := h.node(), h.node(), h.node()
		rec := record(a)
		mesh(t, a, b, c)
		rec.waitEvents(t, map[string]int{"+" + b.String(): 1, "+" + c.String(): 1})
		c.Close()
		rec.waitEvents(t, map[string]int{"-" + c.String(): 1})
		waitRemotes(t, a, b)

		events := rec.Events()
		assert.ElementsMatch(t, []string{"+" + b.String(), "+" + c.String()}, events[:2])
		assert.Equal(t, []string{"-" + c.String()}, events[2:])
		changed := rec.Changed()
		require.Len(t, changed, 3)
		assert.Len(t, changed[0], 1)
		assert.ElementsMatch(t, names(b, c), toNames(changed[1]))
		assert.Equal(t, names(b), toNames(changed[2]))
	})
}

func TestCallbacksMayCallTheNode(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		seen := make(chan []cluster.Remote, 1)
		a.RemoteAdded(func(r cluster.Remote) {
			assert.NoError(t, a.Send(r, []byte("welcome")))
		})
		a.RemoteChanged(func([]cluster.Remote) { seen <- a.Remotes() })
		require.NoError(t, b.Add(a.String()))
		assert.Equal(t, "welcome", string(receive(t, b).Payload))
		assert.Equal(t, names(b), toNames(<-seen))
	})
}

func TestRemovedComesBeforeTheRemoteIsAddedAgain(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node()
		rec := record(a)
		mesh(t, a, b)
		// An ungraceful break: a keeps retrying b and gets it back.
		h.faults.Break(a.String(), b.String())
		rec.waitEvents(t, map[string]int{"+" + b.String(): 2})
		events := rec.Events()
		assert.Equal(t, []string{"+" + b.String(), "-" + b.String(), "+" + b.String()}, events[:3])
	})
}

func toNames(rs []cluster.Remote) []string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return s
}
