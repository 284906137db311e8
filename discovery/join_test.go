package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/discovery"
	"github.com/peerweave/peerweave/internal/clustertest"
)

var _ discovery.Node = (*cluster.Node)(nil)

// fakeNode is a discovery.Node that records adds. An add succeeds, and
// makes the address a remote, unless behave says otherwise.
type fakeNode struct {
	self   string
	behave func(ctx context.Context, addr string) error
	done   chan struct{} // nil: the node never closes

	changed     clustertest.Signal // notified when an add starts or ends
	mu          sync.Mutex
	remotes     []cluster.Remote
	adds        []string
	inFlight    int
	maxInFlight int
}

func (f *fakeNode) AddContext(ctx context.Context, addr string) error {
	f.mu.Lock()
	f.adds = append(f.adds, addr)
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	f.changed.Notify()
	var err error
	if f.behave != nil {
		err = f.behave(ctx, addr)
	}
	defer f.changed.Notify()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--
	if err == nil {
		f.remotes = append(f.remotes, remoteAt(addr))
	}
	return err
}

// waitUntil waits until cond holds, checking again as each add starts or
// ends.
func (f *fakeNode) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	f.changed.Wait(t, waitFor, cond, func() string {
		now, most := f.InFlight()
		return fmt.Sprintf("want %s; adds %v, %d in flight (at most %d), remotes %v", what, f.Adds(), now, most, f.Remotes())
	})
}

func (f *fakeNode) Done() <-chan struct{} { return f.done }

func (f *fakeNode) Remotes() []cluster.Remote {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.remotes)
}

func (f *fakeNode) String() string { return f.self }

func (f *fakeNode) Adds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.adds)
}

func (f *fakeNode) InFlight() (now, most int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight, f.maxInFlight
}

func remoteAt(addr string) cluster.Remote {
	return cluster.Remote(*net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
}

// counted is a source that counts how often it is asked.
type counted struct {
	discovery.Source
	calls  atomic.Int32
	called clustertest.Signal
}

func (c *counted) Addrs(ctx context.Context) ([]string, error) {
	c.calls.Add(1)
	c.called.Notify()
	return c.Source.Addrs(ctx)
}

// waitCalls waits until src has been asked n times.
func (c *counted) waitCalls(t *testing.T, n int32) {
	t.Helper()
	c.called.Wait(t, waitFor, func() bool { return c.calls.Load() >= n }, func() string {
		return fmt.Sprintf("source asked %d times, fewer than %d", c.calls.Load(), n)
	})
}

func TestJoinAddsOnlyNewAddresses(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	n := &fakeNode{self: "127.0.0.1:1", remotes: []cluster.Remote{remoteAt("127.0.0.2:2")}}
	src := &counted{Source: discovery.Static(
		"127.0.0.1:1",           // the node itself
		"[::ffff:127.0.0.1]:01", // the node itself, spelt otherwise
		"[::ffff:127.0.0.2]:2",  // a known remote
		"127.0.0.3:3",
		"127.0.0.3:003",
		"garbage",
	)}
	startJoin(t, n, src, fastJoin(log)...)

	// Four rounds: after the first, the added address is a known remote.
	src.waitCalls(t, 4)
	assert.Equal(t, []string{"127.0.0.3:3"}, n.Adds())
	// The same bad entry each round: one warning, then debug records.
	assert.Len(t, logs.Find("WARN discovery source failed", `"garbage"`), 1)
	assert.NotEmpty(t, logs.Find("DEBUG discovery source still failing", `"garbage"`))
}

func TestJoinAsksTheSourceAtOnce(t *testing.T) {
	t.Parallel()
	log, _ := newLogger(t)
	n := &fakeNode{self: "127.0.0.1:1"}
	src := &counted{Source: discovery.Static("127.0.0.2:2")}
	startJoin(t, n, src, discovery.WithInterval(time.Hour), discovery.WithLogger(log))
	n.waitUntil(t, "one add", func() bool { return len(n.Adds()) == 1 })
	assert.EqualValues(t, 1, src.calls.Load())
}

func TestJoinBoundsConcurrentAdds(t *testing.T) {
	t.Parallel()
	log, _ := newLogger(t)
	gate := make(chan struct{})
	n := &fakeNode{self: "127.0.0.1:1", behave: func(ctx context.Context, _ string) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	var list []string
	for i := range 20 {
		list = append(list, fmt.Sprintf("127.0.0.2:%d", 1000+i))
	}
	startJoin(t, n, discovery.Static(list...), append(fastJoin(log), discovery.WithConcurrency(3))...)

	n.waitUntil(t, "3 adds in flight", func() bool { now, _ := n.InFlight(); return now == 3 })
	close(gate)
	n.waitUntil(t, "20 remotes", func() bool { return len(n.Remotes()) == 20 })
	_, most := n.InFlight()
	assert.Equal(t, 3, most)
	assert.ElementsMatch(t, list, n.Adds())
}

func TestJoinBoundsEachAddAndCarriesOn(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	type outcome struct {
		addr        string
		hadDeadline bool
		err         error
	}
	outcomes := make(chan outcome, 2)
	n := &fakeNode{self: "127.0.0.1:1", behave: func(ctx context.Context, addr string) error {
		_, ok := ctx.Deadline()
		<-ctx.Done()
		select {
		case outcomes <- outcome{addr, ok, ctx.Err()}:
		default:
		}
		return fmt.Errorf("add %s: %w", addr, ctx.Err())
	}}
	src := &counted{Source: discovery.Static("127.0.0.2:2")}
	startJoin(t, n, src, append(fastJoin(log), discovery.WithTimeout(20*time.Millisecond))...)

	for range 2 {
		select {
		case o := <-outcomes:
			assert.Equal(t, outcome{"127.0.0.2:2", true, context.DeadlineExceeded}, o)
		case <-time.After(waitFor):
			require.FailNow(t, "the add was not cut short")
		}
	}
	assert.NotEmpty(t, logs.Find("INFO discovery cannot add peer", "127.0.0.2:2", "deadline exceeded"))
}

func TestJoinStopsWhenAnAddSaysTheNodeIsClosed(t *testing.T) {
	t.Parallel()
	log, _ := newLogger(t)
	n := &fakeNode{self: "127.0.0.1:1", behave: func(context.Context, string) error {
		return fmt.Errorf("cluster: add: %w", cluster.ErrClosed)
	}}
	err := discovery.Join(context.Background(), n, discovery.Static("127.0.0.2:2", "127.0.0.3:3"), fastJoin(log)...)
	assert.ErrorIs(t, err, cluster.ErrClosed)
}

func TestJoinStopsWithTheNode(t *testing.T) {
	t.Parallel()
	h := clustertest.NewHarness(t, clustertest.MemTransports())
	h.Listen = func(i int) string { return fmt.Sprintf("10.0.0.%d:7946", i+1) }
	a, b := h.Node(), h.Node()

	done := make(chan error, 1)
	go func() {
		done <- discovery.Join(context.Background(), a, discovery.Static(b.String()), fastJoin(h.Logs.Logger())...)
	}()
	clustertest.WaitFullMesh(t, a, b)
	a.Close()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, cluster.ErrClosed)
	case <-time.After(waitFor):
		require.FailNow(t, "Join kept running after the node closed")
	}
}

func TestJoinStopsAtOnceWhenTheNodeCloses(t *testing.T) {
	t.Parallel()
	log, _ := newLogger(t)
	n := &fakeNode{self: "127.0.0.1:1", done: make(chan struct{})}
	src := &counted{Source: discovery.Static()}
	done := make(chan error, 1)
	go func() {
		done <- discovery.Join(context.Background(), n, src, append(fastJoin(log), discovery.WithInterval(time.Hour))...)
	}()
	src.waitCalls(t, 1)
	close(n.done)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, cluster.ErrClosed)
	case <-time.After(waitFor):
		require.FailNow(t, "Join waited for its next round after the node closed")
	}
}

func TestJoinStopsWithTheContext(t *testing.T) {
	t.Parallel()
	errStop := errors.New("shutting down")
	blockSource := discovery.SourceFunc(func(ctx context.Context) ([]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	for name, tc := range map[string]struct {
		node *fakeNode
		src  discovery.Source
	}{
		"waiting":       {&fakeNode{self: "127.0.0.1:1"}, discovery.Static()},
		"in the source": {&fakeNode{self: "127.0.0.1:1"}, blockSource},
		"in an add": {&fakeNode{self: "127.0.0.1:1", behave: func(ctx context.Context, _ string) error {
			<-ctx.Done()
			return ctx.Err()
		}}, discovery.Static("127.0.0.2:2")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			log, _ := newLogger(t)
			ctx, cancel := context.WithCancelCause(context.Background())
			src := &counted{Source: tc.src}
			done := make(chan error, 1)
			go func() {
				done <- discovery.Join(ctx, tc.node, src, append(fastJoin(log), discovery.WithTimeout(time.Hour))...)
			}()
			src.waitCalls(t, 1)
			if tc.node.behave != nil {
				tc.node.waitUntil(t, "an add in flight", func() bool { now, _ := tc.node.InFlight(); return now == 1 })
			}
			cancel(errStop)
			select {
			case err := <-done:
				assert.ErrorIs(t, err, errStop)
			case <-time.After(waitFor):
				require.FailNow(t, "Join kept running after its context ended")
			}
		})
	}
}

func TestJoinSurvivesAFailingSourceAndLogsItsRecovery(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	var calls atomic.Int32
	src := discovery.SourceFunc(func(context.Context) ([]string, error) {
		if calls.Add(1) <= 3 {
			return nil, errors.New("registry down")
		}
		return []string{"127.0.0.2:2"}, nil
	})
	n := &fakeNode{self: "127.0.0.1:1"}
	startJoin(t, n, src, fastJoin(log)...)

	logs.Wait(t, waitFor, "INFO discovery source recovered")
	n.waitUntil(t, "one add", func() bool { return len(n.Adds()) == 1 })
	assert.Equal(t, []string{"127.0.0.2:2"}, n.Adds())
	assert.Len(t, logs.Find("WARN discovery source failed", "registry down"), 1)
	assert.Len(t, logs.Find("DEBUG discovery source still failing", "registry down"), 2)
}
