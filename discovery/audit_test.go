package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/discovery"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./discovery that no other test checked when they were
// written. Join runs in a synctest bubble against auditNode, so that its
// defaults (seconds to minutes) are checked exactly and at once.

// auditNode is a discovery.Node that records the adds and the deadlines
// of their contexts; add, if set, decides each add's outcome.
type auditNode struct {
	done chan struct{}
	add  func(ctx context.Context, addr string) error

	mu        sync.Mutex
	adds      []string
	deadlines []time.Time
}

func newAuditNode() *auditNode { return &auditNode{done: make(chan struct{})} }

func (n *auditNode) AddContext(ctx context.Context, addr string) error {
	d, _ := ctx.Deadline()
	n.mu.Lock()
	n.adds = append(n.adds, addr)
	n.deadlines = append(n.deadlines, d)
	n.mu.Unlock()
	if n.add != nil {
		return n.add(ctx, addr)
	}
	return errors.New("audit: not added")
}

func (n *auditNode) Remotes() []cluster.Remote { return nil }
func (n *auditNode) String() string            { return "10.0.0.1:7946" }
func (n *auditNode) Done() <-chan struct{}     { return n.done }

// quiet is a logger that drops everything.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// askTimes runs Join over a source that records when it is asked, for
// span of the bubble's clock, and returns those times as offsets from the
// start. fail says whether the source fails.
func askTimes(t *testing.T, span time.Duration, fail bool, opts ...discovery.Option) []time.Duration {
	var times []time.Duration
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		src := discovery.SourceFunc(func(context.Context) ([]string, error) {
			mu.Lock()
			times = append(times, time.Since(start))
			mu.Unlock()
			if fail {
				return nil, errors.New("audit: source down")
			}
			return nil, nil
		})
		ctx, cancel := context.WithTimeout(t.Context(), span)
		defer cancel()
		err := discovery.Join(ctx, newAuditNode(), src, append([]discovery.Option{discovery.WithLogger(quiet)}, opts...)...)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	return times
}

// Join asks the source at once and then every DefaultInterval; options
// with a value out of range (WithInterval of zero or less) are ignored.
func TestAuditJoinAsksEveryDefaultIntervalAndIgnoresABadOne(t *testing.T) {
	for _, opts := range [][]discovery.Option{nil, {discovery.WithInterval(0)}, {discovery.WithInterval(-time.Second)}} {
		times := askTimes(t, 2*discovery.DefaultInterval+time.Second, false, opts...)
		assert.Equal(t, []time.Duration{0, discovery.DefaultInterval, 2 * discovery.DefaultInterval}, times)
	}
}

// After a failed round Join waits DefaultMinBackoff, jittered between half
// of it and all of it, doubling with each failure in a row up to
// DefaultMaxBackoff.
func TestAuditJoinBacksOffByDefault(t *testing.T) {
	times := askTimes(t, 10*time.Minute, true)
	require.Greater(t, len(times), 8)
	want := discovery.DefaultMinBackoff
	for i := 1; i < len(times); i++ {
		gap := times[i] - times[i-1]
		assert.GreaterOrEqual(t, gap, want/2, "wait %d", i)
		assert.LessOrEqual(t, gap, want, "wait %d", i)
		want = min(2*want, discovery.DefaultMaxBackoff)
	}
	assert.Equal(t, discovery.DefaultMaxBackoff, want, "the waits reached the cap")
}

// WithBackoff needs 0 < lo <= hi: otherwise the defaults hold.
func TestAuditJoinIgnoresABackoffOutOfRange(t *testing.T) {
	for _, bad := range [][2]time.Duration{{2 * time.Hour, time.Hour}, {0, time.Hour}, {-time.Second, time.Hour}} {
		times := askTimes(t, 3*time.Second, true, discovery.WithBackoff(bad[0], bad[1]))
		require.GreaterOrEqual(t, len(times), 2, "backoff %v", bad)
		assert.LessOrEqual(t, times[1], discovery.DefaultMinBackoff, "backoff %v", bad)
	}
}

// Each add is bounded by DefaultTimeout, WithTimeout of zero or less
// keeps it, and a given timeout applies; the call to the source is
// bounded alike.
func TestAuditJoinBoundsSourceAndAddsByTheTimeout(t *testing.T) {
	for _, c := range []struct {
		opts []discovery.Option
		want time.Duration
	}{
		{nil, discovery.DefaultTimeout},
		{[]discovery.Option{discovery.WithTimeout(0)}, discovery.DefaultTimeout},
		{[]discovery.Option{discovery.WithTimeout(-time.Second)}, discovery.DefaultTimeout},
		{[]discovery.Option{discovery.WithTimeout(3 * time.Second)}, 3 * time.Second},
	} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			n := newAuditNode()
			var srcDeadline time.Time
			src := discovery.SourceFunc(func(ctx context.Context) ([]string, error) {
				srcDeadline, _ = ctx.Deadline()
				return []string{"10.0.0.2:7946"}, nil
			})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			discovery.Join(ctx, n, src, append([]discovery.Option{discovery.WithLogger(quiet)}, c.opts...)...)
			assert.Equal(t, c.want, srcDeadline.Sub(start), "source")
			require.Len(t, n.deadlines, 1)
			assert.Equal(t, c.want, n.deadlines[0].Sub(start), "add")
		})
	}
}

// Adds run DefaultConcurrency at once; WithConcurrency of zero or less
// keeps it.
func TestAuditJoinRunsDefaultConcurrencyAddsAtOnce(t *testing.T) {
	for _, opts := range [][]discovery.Option{nil, {discovery.WithConcurrency(0)}, {discovery.WithConcurrency(-1)}} {
		synctest.Test(t, func(t *testing.T) {
			n := newAuditNode()
			release := make(chan struct{})
			n.add = func(ctx context.Context, _ string) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}
			var list []string
			for i := range 10 {
				list = append(list, fmt.Sprintf("10.0.1.%d:7946", i+1))
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- discovery.Join(ctx, n, discovery.Static(list...), append([]discovery.Option{discovery.WithLogger(quiet)}, opts...)...)
			}()
			synctest.Wait()
			n.mu.Lock()
			inFlight := len(n.adds)
			n.mu.Unlock()
			assert.Equal(t, discovery.DefaultConcurrency, inFlight)
			close(release)
			cancel()
			<-done
		})
	}
}

// Join returns context.Cause(ctx) when its context ends.
func TestAuditJoinReturnsTheContextsCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("audit: shutting down")
		ctx, cancel := context.WithCancelCause(t.Context())
		done := make(chan error, 1)
		go func() { done <- discovery.Join(ctx, newAuditNode(), discovery.Static(), discovery.WithLogger(quiet)) }()
		synctest.Wait()
		cancel(cause)
		assert.Equal(t, cause, <-done)
	})
}

// A source may return addresses together with an error: Join uses the
// addresses.
func TestAuditJoinUsesTheAddressesOfAFailingSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newAuditNode()
		src := discovery.SourceFunc(func(context.Context) ([]string, error) {
			return []string{"10.0.0.2:7946"}, errors.New("audit: the rest failed")
		})
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel()
		discovery.Join(ctx, n, src, discovery.WithLogger(quiet))
		assert.Equal(t, []string{"10.0.0.2:7946"}, n.adds)
	})
}

// Join returns an error wrapping cluster.ErrClosed when its node is
// already closed, without asking for anything more.
func TestAuditJoinOfAClosedNodeReturnsErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newAuditNode()
		close(n.done)
		err := discovery.Join(t.Context(), n, discovery.Static("10.0.0.2:7946"), discovery.WithLogger(quiet))
		assert.ErrorIs(t, err, cluster.ErrClosed)
	})
}

// A File source reads a file of MaxFileSize bytes; only a larger one is
// an error.
func TestAuditFileReadsAFileOfMaxFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	line := "10.0.0.1:7946\n"
	body := strings.Repeat("#", discovery.MaxFileSize-len(line)-1) + "\n" + line
	require.Len(t, body, discovery.MaxFileSize)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	addrs, err := discovery.File(path).Addrs(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946"}, addrs)

	require.NoError(t, os.WriteFile(path, []byte(body+"\n"), 0o600))
	_, err = discovery.File(path).Addrs(t.Context())
	assert.Error(t, err)
}

// ErrBadAddress is wrapped by the errors about an address that is not
// "host:port" with a port from 1 to 65535 and a specified host.
func TestAuditFileReportsEachBadAddressAsErrBadAddress(t *testing.T) {
	for _, bad := range []string{"10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", ":7946", "0.0.0.0:7946", "[::]:7946", "10.0.0.1:-1"} {
		path := filepath.Join(t.TempDir(), "peers")
		require.NoError(t, os.WriteFile(path, []byte(bad+"\n10.0.0.2:65535\n"), 0o600))
		addrs, err := discovery.File(path).Addrs(t.Context())
		assert.ErrorIs(t, err, discovery.ErrBadAddress, bad)
		assert.Equal(t, []string{"10.0.0.2:65535"}, addrs, bad)
	}
}

// A given interval applies.
func TestAuditJoinAsksEveryGivenInterval(t *testing.T) {
	times := askTimes(t, 12*time.Second, false, discovery.WithInterval(5*time.Second))
	assert.Equal(t, []time.Duration{0, 5 * time.Second, 10 * time.Second}, times)
}

// "a name is passed to the node, which resolves it": a fully qualified
// name keeps its final dot, which the DNS source's doc says keeps the
// resolver's search domains out of it.
func TestAuditJoinPassesAFullyQualifiedNameToTheNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newAuditNode()
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel()
		discovery.Join(ctx, n, discovery.Static("seed.example.com.:7946"), discovery.WithLogger(quiet))
		assert.Equal(t, []string{"seed.example.com.:7946"}, n.adds)
	})
}

// countingHandler counts the log records whose message or attributes
// mention a string.
type countingHandler struct {
	mention string
	mu      sync.Mutex
	count   int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	text := r.Message
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.Value.String()
		return true
	})
	if strings.Contains(text, h.mention) {
		h.mu.Lock()
		h.count++
		h.mu.Unlock()
	}
	return nil
}

// Join reports an entry of Static that is not "host:port" each time it
// asks, and adds the others.
func TestAuditJoinReportsABadStaticEntryEachRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newAuditNode()
		h := &countingHandler{mention: "not-an-address"}
		ctx, cancel := context.WithTimeout(t.Context(), 2*discovery.DefaultInterval+time.Second)
		defer cancel()
		discovery.Join(ctx, n, discovery.Static("not-an-address", "10.0.0.2:7946"), discovery.WithLogger(slog.New(h)))
		assert.Equal(t, []string{"10.0.0.2:7946", "10.0.0.2:7946", "10.0.0.2:7946"}, n.adds)
		assert.Equal(t, 3, h.count, "records that name the bad entry, over three rounds")
	})
}
