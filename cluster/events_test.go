package cluster_test

import (
	"net"
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

// TestCallbacksSetLateMissNothingAfterwards: the setters replace the
// callbacks that options gave, and callbacks set on a running node hear of
// everything that happens after.
func TestCallbacksSetLateMissNothingAfterwards(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		early := newRecorder()
		a, b, c := h.node(early.Options()...), h.node(), h.node()
		mesh(t, a, b)
		// RemoteChanged is the last callback of an event: once it ran, the
		// setters come after every callback about b.
		early.WaitChanged(t, 1)
		late := record(a)
		mesh(t, a, b, c)
		c.Close()
		late.WaitEvents(t, map[string]int{"-" + c.String(): 1})
		late.WaitChanged(t, 2)

		assert.Equal(t, []string{"+" + b.String()}, early.Events(),
			"the options' callbacks heard of c after the setters replaced them")
		assert.Len(t, early.Changed(), 1)
		assert.Equal(t, []string{"+" + c.String(), "-" + c.String()}, late.Events())
		changed := late.Changed()
		require.Len(t, changed, 2)
		assert.Equal(t, names(b, c), clustertest.Names(changed[0]...))
		assert.Equal(t, names(b), clustertest.Names(changed[1]...))
	})
}

// TestCallbacksGivenAsOptionsHearOfARemoteThatConnectsAtOnce has a node
// dialled from the moment it listens, before NewNode returns and so before
// any setter could run: the callbacks it was given as options must report
// the remote added, then removed when it leaves, never the one without the
// other.
func TestCallbacksGivenAsOptionsHearOfARemoteThatConnectsAtOnce(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		for round := range 20 {
			b := h.node()
			added := make(chan error, 1)
			tr := &onListen{Transport: h.faults.Wrap(h.transport()), listening: func(addr string) {
				go func() { added <- b.Add(addr) }()
			}}
			rec := newRecorder()
			a := h.node(append(rec.Options(), cluster.WithTransport(tr))...)
			require.NoError(t, <-added, "round %d", round)
			b.Close()
			rec.WaitEvents(t, map[string]int{"-" + b.String(): 1})
			require.Equal(t, []string{"+" + b.String(), "-" + b.String()}, rec.Events(),
				"round %d: every RemoteRemoved comes after its RemoteAdded", round)
			rec.WaitChanged(t, 2)
			changed := rec.Changed()
			assert.Equal(t, names(b), clustertest.Names(changed[0]...), "round %d", round)
			assert.Empty(t, changed[1], "round %d", round)
			a.Close()
		}
	})
}

// onListen is a transport that calls listening with the address of its
// listener as soon as it listens.
type onListen struct {
	cluster.Transport
	listening func(addr string)
}

func (o *onListen) Listen(laddr string) (net.Listener, error) {
	ln, err := o.Transport.Listen(laddr)
	if err == nil {
		o.listening(ln.Addr().String())
	}
	return ln, err
}
