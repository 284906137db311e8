package cluster_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

func TestNewListensAtOnce(t *testing.T) {
	t.Parallel()
	a, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	b, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer b.Close()

	assert.NotZero(t, a.Addr().Port)
	assert.NotEqual(t, a.Addr().Port, b.Addr().Port)
	assert.Equal(t, a.Addr().String(), a.String())
	assert.Empty(t, a.Remotes())

	require.NoError(t, b.Add(a.String()))
	waitRemotes(t, a, b)
	require.NoError(t, b.Send(remote(a), []byte("hello")))
	m := receive(t, a)
	assert.Equal(t, b.String(), m.From.String())
	assert.Equal(t, "hello", string(m.Payload))
}

func TestNewFailsOnBusyAddress(t *testing.T) {
	t.Parallel()
	a, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	_, err = cluster.New(a.String())
	assert.Error(t, err)
}

func TestAddingOnePeerJoinsTheWholeMesh(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ns := h.nodes(5)
		// A chain: each node knows only the one before it.
		for i := 1; i < len(ns); i++ {
			require.NoError(t, ns[i].Add(ns[i-1].String()))
		}
		waitMesh(t, ns...)
	})
}

func TestAddMergesTwoClusters(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		left, right := h.nodes(3), h.nodes(3)
		mesh(t, left...)
		mesh(t, right...)
		require.NoError(t, left[2].Add(right[1].String()))
		waitMesh(t, append(left, right...)...)
	})
}

func TestAddOfKnownOrOwnAddressIsANoop(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		rec := newRecorder()
		a, b := h.node(rec.Options()...), h.node()
		require.NoError(t, a.Add(a.String()))
		assert.Empty(t, a.Remotes())

		require.NoError(t, a.Add(b.String()))
		require.NoError(t, a.Add(b.String()))
		require.NoError(t, b.Add(a.String()))
		waitRemotes(t, a, b)
		waitRemotes(t, b, a)
		rec.WaitEvents(t, map[string]int{"+" + b.String(): 1})
		assert.Equal(t, []string{"+" + b.String()}, rec.Events())
	})
}

func TestAddErrors(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node()
		assert.Error(t, a.Add("no-port"))
		assert.Error(t, a.Add("127.0.0.1:0"))
		dead := h.node()
		deadAddr := dead.String()
		dead.Close()
		assert.Error(t, a.Add(deadAddr))
		a.Close()
		assert.ErrorIs(t, a.Add(deadAddr), cluster.ErrClosed)
	})
}

func TestSimultaneousAddsMakeOneConnection(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		for range 10 {
			recA, recB := newRecorder(), newRecorder()
			a, b := h.node(recA.Options()...), h.node(recB.Options()...)
			var wg sync.WaitGroup
			start := make(chan struct{})
			wg.Go(func() { <-start; assert.NoError(t, a.Add(b.String())) })
			wg.Go(func() { <-start; assert.NoError(t, b.Add(a.String())) })
			close(start)
			wg.Wait()
			// Both Adds return once the one connection is up.
			assert.Equal(t, names(b), remoteNames(a))
			assert.Equal(t, names(a), remoteNames(b))
			recA.WaitEvents(t, map[string]int{"+" + b.String(): 1})
			recB.WaitEvents(t, map[string]int{"+" + a.String(): 1})

			// The connection they kept works both ways, and is the only one.
			require.NoError(t, a.Send(remote(b), []byte("a")))
			require.NoError(t, b.Send(remote(a), []byte("b")))
			assert.Equal(t, "a", string(receive(t, b).Payload))
			assert.Equal(t, "b", string(receive(t, a).Payload))
			assert.Equal(t, []string{"+" + b.String()}, recA.Events())
			assert.Equal(t, []string{"+" + a.String()}, recB.Events())
			a.Close()
			b.Close()
		}
	})
}

func TestNodeListeningOnAllInterfacesIsReachedWhereItCameFrom(t *testing.T) {
	t.Parallel()
	a, err := cluster.New("0.0.0.0:0")
	require.NoError(t, err)
	defer a.Close()
	b, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer b.Close()
	c, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()

	require.NoError(t, a.Add(b.String()))
	require.NoError(t, c.Add(b.String()))
	// b and c know a by the loopback address it came from, and c dialled
	// a from b's peer list.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for _, n := range []*cluster.Node{b, c} {
		require.NoError(t, n.Wait(ctx, func(rs []cluster.Remote) bool {
			return slices.ContainsFunc(rs, func(r cluster.Remote) bool {
				return r.Port == a.Addr().Port && r.IP.IsLoopback()
			})
		}), "%s should know a at a loopback address with port %d, but knows %v", n, a.Addr().Port, n.Remotes())
	}
	waitRemotes(t, a, b, c)
}
