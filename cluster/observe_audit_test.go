package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/mem"
)

// The sentinels match what their documentation says they match.
func TestAuditSentinelsMatchWhatTheDocsSay(t *testing.T) {
	t.Parallel()
	for _, err := range []error{cluster.ErrSilence, cluster.ErrWriteStalled, cluster.ErrStalled} {
		assert.ErrorIs(t, err, cluster.ErrTimeout, "%v", err)
	}
	assert.ErrorIs(t, cluster.ErrBusy, cluster.ErrRejected)
	// The causes of a removal are told apart: each matches exactly one.
	causes := []error{cluster.ErrSilence, cluster.ErrWriteStalled, cluster.ErrConnLost, cluster.ErrProtocol,
		cluster.ErrLocalLeave, cluster.ErrRemoteLeave, cluster.ErrReplaced}
	for _, err := range causes {
		matches := 0
		for _, c := range causes {
			if errors.Is(err, c) {
				matches++
			}
		}
		assert.Equal(t, 1, matches, "%v", err)
	}
}

// "ErrRejected ... ErrLabelMismatch and ErrNameConflict match it too": the
// sentinels themselves, as ErrBusy does.
func TestAuditLabelAndNameSentinelsMatchErrRejected(t *testing.T) {
	t.Parallel()
	if !errors.Is(cluster.ErrLabelMismatch, cluster.ErrRejected) || !errors.Is(cluster.ErrNameConflict, cluster.ErrRejected) {
	}
}

// Add's refusals for a label or a name match ErrRejected as well as their
// own sentinel, and a codec mismatch fails with ErrIncompatible, which
// matches ErrProtocol.
func TestAuditAddRefusalsMatchTheirFamilies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a := h.node(cluster.WithName("a"), cluster.WithLabel("prod"))
	err := h.node(cluster.WithLabel("staging")).Add(a.String())
	assert.ErrorIs(t, err, cluster.ErrLabelMismatch)
	assert.ErrorIs(t, err, cluster.ErrRejected)
	err = h.node(cluster.WithName("a"), cluster.WithLabel("prod")).Add(a.String())
	assert.ErrorIs(t, err, cluster.ErrNameConflict)
	assert.ErrorIs(t, err, cluster.ErrRejected)

	nw := mem.NewNetwork()
	b := memNode(t, nw, "10.0.0.1:0")
	c := memNode(t, nw, "10.0.0.2:0", cluster.WithCodec(msgpack.Codec{}))
	err = b.Add(c.String())
	assert.ErrorIs(t, err, cluster.ErrIncompatible)
	assert.ErrorIs(t, err, cluster.ErrProtocol, "handshakes that fail with ErrIncompatible match ErrProtocol")
}

// Handshakes.Failed is the sum of every outcome but Admitted.
func TestAuditHandshakesFailedSumsTheFailures(t *testing.T) {
	t.Parallel()
	h := cluster.Handshakes{Admitted: 100, Incompatible: 1, Auth: 2, Rejected: 3, Protocol: 4, Timeout: 5, Lost: 6, Other: 7}
	assert.Equal(t, uint64(28), h.Failed())
}

// Event.Remote is Addr as a Remote; every kind has a name of its own.
func TestAuditEventRemoteAndKindNames(t *testing.T) {
	t.Parallel()
	e := cluster.Event{Kind: cluster.EventPong, Addr: netip.MustParseAddrPort("10.0.0.2:7946"), RTT: 1234 * time.Millisecond}
	assert.Equal(t, "10.0.0.2:7946", e.Remote().String())
	assert.NotContains(t, e.String(), "1.234", "durations are left out of an event's line")
	seen := map[string]cluster.EventKind{}
	for k := cluster.EventAccepted; k <= cluster.EventResumed; k++ {
		name := k.String()
		assert.NotContains(t, name, "EventKind(", "kind %d has a name", k)
		if prev, dup := seen[name]; dup {
			t.Errorf("kinds %d and %d are both %q", prev, k, name)
		}
		seen[name] = k
	}
}

// Several WithObserver options add several observers, called in order: the
// second hears of an event only after the first did.
func TestAuditObserversAreCalledInOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	first, second := map[string]int{}, map[string]int{}
	var disorder []string
	key := func(e cluster.Event) string { return e.String() + "|" + e.Kind.String() }
	one := cluster.ObserverFunc(func(e cluster.Event) {
		mu.Lock()
		defer mu.Unlock()
		first[key(e)]++
	})
	two := cluster.ObserverFunc(func(e cluster.Event) {
		mu.Lock()
		defer mu.Unlock()
		if first[key(e)] <= second[key(e)] {
			disorder = append(disorder, key(e))
		}
		second[key(e)]++
	})
	h := newHarness(t, memStack())
	a := h.node(cluster.WithObserver(one), cluster.WithObserver(two))
	b := h.node()
	mesh(t, a, b)
	b.Close()
	require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
	mu.Lock()
	defer mu.Unlock()
	assert.NotEmpty(t, first)
	assert.Empty(t, disorder, "the second observer heard of these before the first")
}

// Every record of a node's logger carries the node's address as "node".
func TestAuditLogRecordsCarryTheNodesAddress(t *testing.T) {
	t.Parallel()
	rec := &records{}
	nw := mem.NewNetwork()
	a := memNode(t, nw, "10.0.0.1:0", cluster.WithLogger(slog.New(rec)))
	b := memNode(t, nw, "10.0.0.2:0")
	require.NoError(t, b.Add(a.String()))
	b.Close()
	require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
	a.Close()
	all := rec.all()
	require.NotEmpty(t, all, "a node that met and lost a remote logs")
	for _, r := range all {
		assert.Equal(t, a.String(), r["node"], "record %v", r)
	}
}

// records is a slog.Handler that keeps every record's attributes.
type records struct {
	mu    *sync.Mutex
	attrs []slog.Attr
	out   *[]map[string]string
}

// all returns the records kept so far.
func (r *records) all() []map[string]string {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(*r.out)
}

func (r *records) init() {
	if r.mu == nil {
		r.mu, r.out = new(sync.Mutex), new([]map[string]string)
	}
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message}
	for _, a := range r.attrs {
		m[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.out = append(*r.out, m)
	return nil
}

func (r *records) WithAttrs(as []slog.Attr) slog.Handler {
	r.init()
	return &records{mu: r.mu, out: r.out, attrs: append(slices.Clone(r.attrs), as...)}
}

func (r *records) WithGroup(string) slog.Handler { r.init(); return r }

// With WithLogger, the logger's handler decides what is written: WithDebug
// and SetDebug(true) do not make a handler that takes no debug records get
// any.
func TestAuditTheLoggersHandlerDecidesDespiteDebug(t *testing.T) {
	t.Parallel()
	rec := &records{}
	nw := mem.NewNetwork()
	a := memNode(t, nw, "10.0.0.1:0", cluster.WithLogger(slog.New(infoOnly{rec})), cluster.WithDebug())
	a.SetDebug(true)
	b := memNode(t, nw, "10.0.0.2:0")
	require.NoError(t, b.Add(a.String()))
	b.Close()
	require.NoError(t, a.Wait(testContext(t), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
	a.Close()
	for _, r := range rec.all() {
		assert.NotEqual(t, slog.LevelDebug.String(), r["level"], "a debug record reached the handler: %v", r)
	}
}

// infoOnly is a handler that takes records of level Info and above.
type infoOnly struct{ *records }

// Enabled refuses debug records.
func (h infoOnly) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// Handle keeps the record with its level.
func (h infoOnly) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("level", r.Level.String()))
	return h.records.Handle(ctx, r)
}

// WithAttrs keeps the handler's filter.
func (h infoOnly) WithAttrs(as []slog.Attr) slog.Handler {
	return infoOnly{h.records.WithAttrs(as).(*records)}
}

// A Remote's String is "host:port", with an IPv6 host in brackets; a
// kind's String is a few words, such as "handshake failed".
func TestAuditStringForms(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "10.0.0.1:7946", cluster.Remote{IP: net.IPv4(10, 0, 0, 1), Port: 7946}.String())
	assert.Equal(t, "[2001:db8::1]:7946", cluster.Remote{IP: net.ParseIP("2001:db8::1"), Port: 7946}.String())
	assert.Equal(t, "handshake failed", cluster.EventHandshakeFailed.String())
}

// A message handler's calls for different remotes run at the same time:
// one held up on b's message does not hold up c's.
func TestAuditMessageHandlerCallsForDifferentRemotesRunAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	b, c := h.node(), h.node()
	fromC := make(chan struct{})
	held := make(chan bool, 1)
	a := h.node(cluster.WithMessageHandler(func(from cluster.Remote, _ []byte) {
		if from.Equal(remote(c)) {
			close(fromC)
			return
		}
		select {
		case <-fromC:
			held <- true
		case <-time.After(waitFor):
			held <- false
		}
	}))
	mesh(t, a, b, c)
	require.NoError(t, b.Send(remote(a), []byte("first, and held")))
	require.NoError(t, c.Send(remote(a), []byte("meanwhile")))
	assert.True(t, <-held, "c's message waited for the call of b's")
}

// A connection that says nothing is dropped at the handshake timeout: 2 s
// plus the time the largest hello takes at 4 Mbit/s (2.1 s at the default
// tags limit), or the network timeout if that is shorter; with ErrTimeout,
// counted in Handshakes.Timeout, in an event with no Addr (it said no hello)
// whose From is where it came from.
func TestAuditASilentConnectionIsDroppedAtTheHandshakeTimeout(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		for _, c := range []struct {
			timeout  time.Duration
			min, max time.Duration
		}{
			{cluster.DefaultNetworkTimeout, 2100 * time.Millisecond, 2200 * time.Millisecond},
			{time.Second, time.Second, time.Second},
		} {
			ev := clustertest.NewEvents()
			a := h.node(ev.Option(), cluster.WithNetworkTimeout(c.timeout))
			ctx := testContext(t)
			conn, err := h.Transport().Dial(ctx, a.String())
			require.NoError(t, err)
			start := time.Now()
			_, _ = io.Copy(io.Discard, conn) // until a hangs up
			took := time.Since(start)
			conn.Close()
			assert.GreaterOrEqual(t, took, c.min, "network timeout %v", c.timeout)
			assert.LessOrEqual(t, took, c.max, "network timeout %v", c.timeout)
			e := ev.Wait(t, "handshake failed", clustertest.Is(cluster.EventHandshakeFailed, nil))
			assert.ErrorIs(t, e.Err, cluster.ErrTimeout)
			assert.False(t, e.Addr.IsValid(), "a connection that said no hello has no Addr: %v", e.Addr)
			assert.False(t, e.Dialled)
			if assert.NotNil(t, e.From) {
				assert.Equal(t, conn.LocalAddr().String(), e.From.String(), "From is where it came from")
			}
			assert.Equal(t, uint64(1), a.Stats().Handshakes.Timeout)
		}
	})
}

// At the default settings, a remote whose window stays shut with data
// waiting for it is suspended once it has been shut for two healthy
// intervals plus the network timeout (70 s), at the next health check it
// answers: an EventSuspended, once, whose Err matches ErrStalled, and it
// stays a remote.
func TestAuditARemoteIsSuspendedAfterSeventySecondsAtTheDefaults(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		ev := clustertest.NewEvents()
		a := h.Start(h.Base(ev.Option())...)
		b := h.Start(h.Base(cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10))...) // reads nothing
		require.NoError(t, a.Add(b.String()))
		fillQueues(a, b)
		shut := time.Now()
		limit := 2*cluster.DefaultHealthyInterval + cluster.DefaultNetworkTimeout
		time.Sleep(limit - time.Second)
		synctest.Wait()
		assert.Empty(t, ev.Find(clustertest.Is(cluster.EventSuspended, b)), "b suspended before 70 s")
		time.Sleep(cluster.DefaultHealthyInterval + 2*time.Second)
		synctest.Wait()
		suspended := ev.Find(clustertest.Is(cluster.EventSuspended, b))
		require.Len(t, suspended, 1, "suspensions of b:\n%s", ev)
		assert.ErrorIs(t, suspended[0].Err, cluster.ErrStalled)
		assert.GreaterOrEqual(t, suspended[0].Wait, limit)
		assert.LessOrEqual(t, suspended[0].Wait, time.Since(shut))
		assert.Len(t, a.Remotes(), 1, "b stays a remote")
		go drain(b) // so that a's goodbye, behind its queue, gets through when the test ends
	})
}

// The events of one connection come in the order they happened: a
// connection this node dialled and then left is dialled, added, removed
// (with ErrLocalLeave) and said goodbye to, in that order.
func TestAuditTheEventsOfAConnectionComeInOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	ev := clustertest.NewEvents()
	a, b := h.node(ev.Option()), h.node()
	require.NoError(t, a.Add(b.String()))
	a.CloseRemote(remote(b))
	ev.Wait(t, "goodbye", clustertest.Is(cluster.EventGoodbye, b))
	var kinds []cluster.EventKind
	for _, e := range ev.Find(func(e cluster.Event) bool { return e.Addr.String() == b.String() }) {
		switch e.Kind {
		case cluster.EventDial, cluster.EventAdded, cluster.EventRemoved, cluster.EventGoodbye:
			kinds = append(kinds, e.Kind)
			if e.Kind == cluster.EventRemoved {
				assert.ErrorIs(t, e.Err, cluster.ErrLocalLeave)
			}
		}
	}
	assert.Equal(t, []cluster.EventKind{cluster.EventDial, cluster.EventAdded, cluster.EventRemoved, cluster.EventGoodbye}, kinds)
}
