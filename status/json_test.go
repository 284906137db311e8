package status_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestJSONShowsTheLiveCluster(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	a, b, c := tr.a, tr.b, tr.c
	// b sends a three messages, a sends c two: counts that are final once
	// the messages are in the Inboxes.
	for i := range 3 {
		require.NoError(t, b.Send(clustertest.Remote(a), fmt.Appendf(nil, "b to a %d", i)))
	}
	for i := range 2 {
		require.NoError(t, a.Send(clustertest.Remote(c), fmt.Appendf(nil, "a to c, %d", i)))
	}
	for range 3 {
		clustertest.Receive(t, a)
	}
	for range 2 {
		clustertest.Receive(t, c)
	}

	s := getJSON(t, tr.page)
	assert.Equal(t, a.Self().String(), s.Node.Address)
	assert.Equal(t, a.String(), s.Node.Listen)
	assert.Equal(t, "alpha", s.Node.Name)
	assert.Equal(t, "test", s.Node.Label)
	assert.Equal(t, map[string]string{"role": "seed", "zone": "eu-1"}, s.Node.Tags)
	assert.Equal(t, clustertest.Healthy, s.Node.HealthyInterval)
	assert.Equal(t, clustertest.Timeout, s.Node.NetworkTimeout)
	assert.Equal(t, 2, s.Stats.Remotes)
	assert.Empty(t, s.Reconnecting)
	assert.Zero(t, s.Omitted)
	assert.True(t, s.Recording)

	require.Len(t, s.Remotes, 2)
	for i, want := range []struct {
		n          *cluster.Node
		name, role string
	}{{b, "bravo", "cache"}, {c, "charlie", "worker"}} {
		r := s.Remotes[i]
		st, ok := a.RemoteStats(clustertest.Remote(want.n))
		require.True(t, ok)
		assert.Equal(t, want.n.String(), r.Address)
		assert.Equal(t, want.name, r.Name)
		assert.Equal(t, map[string]string{"role": want.role}, r.Tags)
		assert.Equal(t, "connected", r.State)
		assert.Contains(t, []string{"good", "slow", "bad"}, r.Health, "a health check of %s was timed", r.Name)
		assert.True(t, st.ConnectedSince.Equal(r.ConnectedSince), "connected since %v, page says %v", st.ConnectedSince, r.ConnectedSince)
		assert.Equal(t, st.Dialled, r.Dialled)
		assert.Positive(t, r.SmoothedRTT)
		assert.Positive(t, r.RTT)
		assert.Empty(t, r.LastError)
	}
	assert.Equal(t, uint64(3), s.Remotes[0].MessagesReceived)
	assert.Equal(t, uint64(3*len("b to a 0")), s.Remotes[0].BytesReceived)
	assert.Equal(t, uint64(2), s.Remotes[1].MessagesSent)
	assert.Equal(t, uint64(2*len("a to c, 0")), s.Remotes[1].BytesSent)
	assert.Equal(t, uint64(3), s.Stats.MessagesReceived)
	assert.Equal(t, uint64(2), s.Stats.MessagesSent)

	require.NotEmpty(t, s.Events)
	for i := 1; i < len(s.Events); i++ {
		assert.False(t, s.Events[i].Time.After(s.Events[i-1].Time), "events newest first")
	}
	var added []string
	for _, e := range s.Events {
		assert.NotEqual(t, "pong", e.Kind, "health checks are not kept as events")
		if e.Kind == "added" {
			added = append(added, e.Remote)
		}
	}
	assert.ElementsMatch(t, []string{b.String(), c.String()}, added)
}

func TestJSONShowsTheReconnectSet(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	c := tr.c
	// c falls silent: a removes it ungracefully, and redials it.
	tr.h.Faults.Isolate(c.String())
	select {
	case k := <-tr.removed:
		require.Equal(t, c.String(), k.String())
	case <-time.After(clustertest.WaitFor):
		t.Fatal("a did not remove c")
	}

	s := getJSON(t, tr.page)
	require.Len(t, s.Remotes, 1)
	assert.Equal(t, "bravo", s.Remotes[0].Name)
	require.Len(t, s.Reconnecting, 1)
	r := s.Reconnecting[0]
	assert.Equal(t, c.String(), r.Address)
	assert.Equal(t, "reconnecting", r.State)
	assert.Equal(t, "lost", r.Health)
	assert.NotEmpty(t, r.LastError)
	assert.Equal(t, 1, s.Stats.Reconnecting)

	var removed bool
	for _, e := range s.Events {
		if e.Kind == "removed" && e.Remote == c.String() {
			removed = true
			assert.True(t, e.Error, "an ungraceful removal is an error: %s", e.Text)
		}
	}
	assert.True(t, removed, "the removal of c is among the events %v", s.Events)
}

func TestPageWhileMembershipChanges(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	done := make(chan struct{})
	served := make(chan int, 1)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				served <- n
				return
			default:
			}
			for _, target := range []string{"/", "/?format=json"} {
				if resp := get(t, tr.page, http.MethodGet, target); resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %s", target, resp.Status)
				}
			}
			n++
		}
	}()
	stop := sync.OnceValue(func() int { close(done); return <-served })
	defer stop()
	// c leaves and comes back, twice, while the page is read.
	for range 2 {
		tr.c.CloseRemote(clustertest.Remote(tr.a))
		select {
		case <-tr.removed:
		case <-time.After(clustertest.WaitFor):
			t.Fatal("a did not remove c")
		}
		require.NoError(t, tr.c.Add(tr.a.String()))
	}
	assert.Positive(t, stop(), "pages served meanwhile")
	ctx, cancel := context.WithTimeout(context.Background(), clustertest.WaitFor)
	defer cancel()
	require.NoError(t, tr.a.Wait(ctx, clustertest.Exactly(tr.b, tr.c)))
	s := getJSON(t, tr.page)
	assert.Len(t, s.Remotes, 2)
	assert.Empty(t, s.Reconnecting, "c left gracefully, and is not redialled")
}
