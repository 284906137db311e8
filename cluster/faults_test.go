package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/testlog"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/mem"
)

// long turns on the longer and bigger versions of the fault tests.
var long = os.Getenv("PEERWEAVE_LONG") == "1"

// margin is what the fault tests allow on top of a bound of the spec, such
// as the healthy interval plus the network timeout for noticing a dead
// remote: wide, so that a loaded machine passes; the bound is about
// correctness, not speed.
const margin = 5 * time.Second

// detection is how long a node may take, by the spec, to remove a remote
// that went silent, at the settings of test nodes (clustertest.Fast).
const detection = clustertest.Healthy + clustertest.Timeout + margin

// faultStacks are the stacks that fault tests run on: one per transport,
// with the codecs in turn, as faults are the transport's business; every
// stack with PEERWEAVE_LONG=1.
func faultStacks() []stack {
	if long {
		return stacks
	}
	var ss []stack
	for i, s := range stacks {
		// stacks go network by network, each with every codec.
		network, codec := i/len(codecs), i%len(codecs)
		if codec == network%len(codecs) {
			ss = append(ss, s)
		}
	}
	return ss
}

// forEachTransport is forEachStack on the fault stacks.
func forEachTransport(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Parallel()
	for _, s := range faultStacks() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			f(t, newHarness(t, s))
		})
	}
}

// testWriter writes lines, such as a node's logs, to the test log.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestPartitionRemovesTheOtherSideAndHealRestoresTheMesh(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		recs := make(map[*cluster.Node]*recorder)
		ns := make([]*cluster.Node, 6)
		for i := range ns {
			rec := newRecorder()
			ns[i] = h.node(rec.Options()...)
			recs[ns[i]] = rec
		}
		mesh(t, ns...)
		left, right := ns[:3], ns[3:]
		h.faults.Partition(names(left...), names(right...))

		// Each side removes the other, by its health checks, in time.
		start := time.Now()
		views := make(map[*cluster.Node][]*cluster.Node)
		for _, side := range [][]*cluster.Node{left, right} {
			for _, n := range side {
				views[n] = others(n, side)
			}
		}
		waitViews(t, detection, views)
		t.Logf("partition noticed everywhere after %v", time.Since(start))

		h.faults.Heal()
		waitMesh(t, ns...)
		for _, side := range [][]*cluster.Node{left, right} {
			across := left
			if slices.Equal(side, left) {
				across = right
			}
			for _, n := range side {
				for _, m := range across {
					recs[n].WaitEvents(t, map[string]int{"+" + m.String(): 2})
					assert.Equal(t, []string{"+" + m.String(), "-" + m.String(), "+" + m.String()},
						recs[n].History(m.String()), "%s about %s", n, m)
				}
				for _, m := range others(n, side) {
					assert.Equal(t, []string{"+" + m.String()}, recs[n].History(m.String()),
						"%s lost %s on its own side", n, m)
				}
			}
		}

		// The right side leaves gracefully: although the left side retried
		// it during the partition, it never dials it again.
		for _, n := range right {
			n.Close()
		}
		for _, n := range left {
			waitRemotes(t, n, others(n, left)...)
		}
		dials := func() []int {
			var d []int
			for _, n := range left {
				for _, m := range right {
					d = append(d, h.faults.Dials(n.String(), m.String()))
				}
			}
			return d
		}
		before := dials()
		time.Sleep(5 * clustertest.Reconnect) // to show that nothing happens meanwhile
		assert.Equal(t, before, dials(), "a node that left gracefully was dialled")
	})
}

func TestOneWayLossRemovesTheLinkOnBothSidesOnly(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		recC := newRecorder()
		a, b, c := h.node(), h.node(), h.node(recC.Options()...)
		mesh(t, a, b, c)

		// b no longer hears a, but a still hears b: b drops a by its
		// health check, a sees the connection end, and neither can dial the
		// other while the loss lasts. c keeps both.
		h.faults.Cut(a.String(), b.String())
		waitViews(t, detection, map[*cluster.Node][]*cluster.Node{a: {c}, b: {c}})
		waitRemotes(t, c, a, b)
		before := h.faults.Dials(a.String(), b.String()) + h.faults.Dials(b.String(), a.String())
		require.Eventually(t, func() bool {
			return h.faults.Dials(a.String(), b.String())+h.faults.Dials(b.String(), a.String()) > before
		}, waitFor, tick, "nobody retries the lost link")
		assert.Equal(t, names(a, b), remoteNames(c))

		h.faults.Heal()
		waitMesh(t, a, b, c)
		require.NoError(t, a.Send(remote(b), []byte("a to b")))
		assert.Equal(t, "a to b", string(receive(t, b).Payload))
		assert.Zero(t, recC.Count("-"+a.String())+recC.Count("-"+b.String()), "c lost a node")
	})
}

func TestCloseInsideABlackholeReturnsAndLooksLikeACrashAcrossIt(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		a, b, c := h.node(), h.node(), h.node()
		mesh(t, a, b, c)
		h.faults.Blackhole(a.String(), b.String())

		// a's goodbye to b cannot get through: Close gives up on it after
		// the network timeout, and says goodbye to c as usual.
		const timeout = 300 * time.Millisecond
		a.SetNetworkTimeout(timeout)
		start := time.Now()
		a.Close()
		assert.GreaterOrEqual(t, time.Since(start), timeout, "Close did not wait for the goodbye")
		assert.Less(t, time.Since(start), timeout+margin, "Close waited too long for the goodbye")
		waitViews(t, detection, map[*cluster.Node][]*cluster.Node{b: {c}, c: {b}})

		// c heard the goodbye and never dials a; b did not, and keeps
		// trying.
		fromB, fromC := h.faults.Dials(b.String(), a.String()), h.faults.Dials(c.String(), a.String())
		require.Eventually(t, func() bool { return h.faults.Dials(b.String(), a.String()) > fromB }, waitFor, tick,
			"b does not retry a node it lost ungracefully")
		assert.Equal(t, fromC, h.faults.Dials(c.String(), a.String()), "c dialled a node that left gracefully")
	})
}

func TestSlowReaderHurtsOnlyItsOwnSenders(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		// slow never reads its Inbox, which holds one message.
		slow := h.node(cluster.WithInboxSize(1))
		recs := []*recorder{newRecorder(), newRecorder(), newRecorder()}
		good := make([]*cluster.Node, len(recs))
		for i, rec := range recs {
			good[i] = h.node(append(rec.Options(), cluster.WithSendQueueSize(64<<10))...)
		}
		mesh(t, append([]*cluster.Node{slow}, good...)...)

		// Every good node floods slow until Send fails...
		var floods sync.WaitGroup
		floodErrs := make([]error, len(good))
		for i, n := range good {
			floods.Go(func() {
				for floodErrs[i] == nil {
					floodErrs[i] = n.Send(remote(slow), make([]byte, 1<<10))
				}
			})
		}
		// ...while every pair of good nodes keeps talking, in order.
		count := 300
		if long {
			count = 5000
		}
		var flows sync.WaitGroup
		for _, from := range good {
			for _, to := range others(from, good) {
				flows.Go(func() {
					for i := range count {
						if !assert.NoError(t, from.Send(remote(to), fmt.Appendf(nil, "%d", i))) {
							return
						}
					}
				})
			}
		}
		for _, n := range good {
			flows.Go(func() {
				next := make(map[string]int)
				for range count * (len(good) - 1) {
					var m *cluster.Message
					select {
					case m = <-n.Inbox:
					case <-time.After(waitFor):
						assert.Fail(t, "flow stopped", "%s received nothing in %v", n, waitFor)
						return
					}
					from := m.From.String()
					if !assert.Equal(t, fmt.Sprint(next[from]), string(m.Payload), "%s from %s", n, from) {
						return
					}
					next[from]++
				}
			})
		}
		flows.Wait()
		floods.Wait()
		for i, err := range floodErrs {
			assert.True(t, errors.Is(err, cluster.ErrTimeout) || errors.Is(err, cluster.ErrUnknownRemote),
				"flood from %s ended with %v", good[i], err)
		}
		for i, n := range good {
			for _, m := range others(n, good) {
				assert.Zero(t, recs[i].Count("-"+m.String()), "%s lost %s", n, m)
			}
		}

		// Close returns on every node, slow included.
		var closes sync.WaitGroup
		for _, n := range append([]*cluster.Node{slow}, good...) {
			closes.Go(n.Close)
		}
		closed := make(chan struct{})
		go func() { closes.Wait(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(waitFor):
			t.Fatal("Close blocked")
		}
	})
}

func TestInterruptedHandshakeNeverSendsAGoodbyeBeforeItsHello(t *testing.T) {
	t.Parallel()
	tr := &stalling{Network: mem.NewNetwork(), writing: make(chan struct{})}
	a, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(tr), cluster.WithLogger(slog.New(testlog.New(t))))
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	added := make(chan error, 1)
	go func() { added <- a.AddContext(ctx, "127.0.0.1:9") }()
	<-tr.writing // the hello is stuck: the other side does not read
	cancel()
	assert.ErrorIs(t, <-added, context.Canceled)
	if sent := tr.Sent(); len(sent) > 0 {
		assert.True(t, bytes.HasPrefix(sent, wire.AppendPreamble(nil, "gob")),
			"the other side got %q before any preamble", sent)
	}
}

// stalling is a transport whose dialled connections stall on their first
// write until its deadline, as to a peer that does not read; later writes
// go through. It keeps what went through.
type stalling struct {
	*mem.Network
	writing chan struct{} // closed when the first write starts

	mu   sync.Mutex
	sent []byte
}

func (s *stalling) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	local, _ := net.Pipe() // nobody reads the other end
	return &stallingConn{Conn: local, s: s}, nil
}

// Sent returns what went through.
func (s *stalling) Sent() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

type stallingConn struct {
	net.Conn
	s      *stalling
	writes int
}

func (c *stallingConn) Write(b []byte) (int, error) {
	c.writes++
	if c.writes == 1 {
		close(c.s.writing)
		n, err := c.Conn.Write(b)
		c.record(b[:n])
		return n, err
	}
	c.record(b)
	return len(b), nil
}

func (c *stallingConn) record(b []byte) {
	c.s.mu.Lock()
	c.s.sent = append(c.s.sent, b...)
	c.s.mu.Unlock()
}
