package cluster_test

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/testlog"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Settings of test nodes: short enough to keep the suite fast, long enough
// that a loaded machine running the race detector does not miss a deadline.
const (
	testHealthy   = 100 * time.Millisecond
	testTimeout   = 2 * time.Second
	testReconnect = 200 * time.Millisecond
	waitFor       = 15 * time.Second // how long a test waits for an expected event
	tick          = 5 * time.Millisecond
)

// stack is a transport and codec that the behaviour suite runs on.
type stack struct {
	name string
	// network returns a source of transports for the nodes of one test:
	// transports from one source reach each other.
	network func() func() cluster.Transport
	codec   cluster.Codec
}

// network is a transport the suite runs on.
type network struct {
	name string
	new  func() func() cluster.Transport
}

var (
	networks = []network{
		{"tcp", func() func() cluster.Transport { return func() cluster.Transport { return tcp.New() } }},
		{"mem", func() func() cluster.Transport {
			nw := mem.NewNetwork()
			return func() cluster.Transport { return nw }
		}},
		{"quic", func() func() cluster.Transport { return func() cluster.Transport { return quic.New() } }},
	}
	codecs = []cluster.Codec{gob.Codec{}, msgpack.Codec{}}

	// stacks is every transport with every codec.
	stacks = func() []stack {
		var ss []stack
		for _, nw := range networks {
			for _, c := range codecs {
				ss = append(ss, stack{name: nw.name + "+" + c.Name(), network: nw.new, codec: c})
			}
		}
		return ss
	}()
)

// harness makes the nodes of one test, on one stack, behind a fault network.
type harness struct {
	t         *testing.T
	stack     stack
	faults    *fault.Network
	transport func() cluster.Transport
	logs      *testlog.Recorder
}

// forEachStack runs f as a parallel subtest on every stack.
func forEachStack(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			f(t, newHarness(t, s))
		})
	}
}

func newHarness(t *testing.T, s stack) *harness {
	return &harness{t: t, stack: s, faults: fault.NewNetwork(), transport: s.network(), logs: testlog.New(t)}
}

// options are what every node of the harness is built with.
func (h *harness) options(extra ...cluster.Option) []cluster.Option {
	return append([]cluster.Option{
		cluster.WithTransport(h.faults.Wrap(h.transport())),
		cluster.WithCodec(h.stack.codec),
		cluster.WithLogger(slog.New(h.logs)),
	}, extra...)
}

// node starts a node with test settings, closed when the test ends.
func (h *harness) node(extra ...cluster.Option) *cluster.Node {
	n, err := cluster.NewNode("127.0.0.1:0", h.options(extra...)...)
	require.NoError(h.t, err)
	fast(n)
	h.t.Cleanup(n.Close)
	return n
}

// nodes starts count nodes.
func (h *harness) nodes(count int, extra ...cluster.Option) []*cluster.Node {
	ns := make([]*cluster.Node, count)
	for i := range ns {
		ns[i] = h.node(extra...)
	}
	return ns
}

func fast(n *cluster.Node) {
	n.SetHealthyInterval(testHealthy)
	n.SetNetworkTimeout(testTimeout)
	n.SetReconnectInterval(testReconnect)
}

// mesh joins every node to the first and waits for the full mesh.
func mesh(t *testing.T, ns ...*cluster.Node) {
	t.Helper()
	for _, n := range ns[1:] {
		require.NoError(t, n.Add(ns[0].String()))
	}
	waitMesh(t, ns...)
}

// waitMesh waits until every node knows exactly the others.
func waitMesh(t *testing.T, ns ...*cluster.Node) {
	t.Helper()
	for _, n := range ns {
		waitRemotes(t, n, others(n, ns)...)
	}
}

// waitRemotes waits until n's remotes are exactly want.
func waitRemotes(t *testing.T, n *cluster.Node, want ...*cluster.Node) {
	t.Helper()
	w := names(want...)
	require.Eventually(t, func() bool { return slices.Equal(remoteNames(n), w) }, waitFor, tick,
		"%s should know exactly %v", n, w)
	assert.Equal(t, w, remoteNames(n))
}

func others(n *cluster.Node, ns []*cluster.Node) []*cluster.Node {
	var o []*cluster.Node
	for _, m := range ns {
		if m != n {
			o = append(o, m)
		}
	}
	return o
}

func names(ns ...*cluster.Node) []string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	slices.Sort(s)
	return s
}

func remoteNames(n *cluster.Node) []string {
	rs := n.Remotes()
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	slices.Sort(s)
	return s
}

func remote(n *cluster.Node) cluster.Remote { return cluster.Remote(*n.Addr()) }

// receive waits for the next message on n's Inbox.
func receive(t *testing.T, n *cluster.Node) *cluster.Message {
	t.Helper()
	select {
	case m, ok := <-n.Inbox:
		require.True(t, ok, "inbox closed")
		return m
	case <-time.After(waitFor):
		require.FailNow(t, "no message", "%s received nothing in %v", n, waitFor)
		return nil
	}
}

// recorder keeps what a node's callbacks report.
type recorder struct {
	mu      sync.Mutex
	events  []string // "+addr" for added, "-addr" for removed
	changed [][]cluster.Remote
}

func record(n *cluster.Node) *recorder {
	r := &recorder{}
	n.RemoteAdded(func(x cluster.Remote) { r.add("+" + x.String()) })
	n.RemoteRemoved(func(x cluster.Remote) { r.add("-" + x.String()) })
	n.RemoteChanged(func(rs []cluster.Remote) {
		r.mu.Lock()
		r.changed = append(r.changed, rs)
		r.mu.Unlock()
	})
	return r
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) Changed() [][]cluster.Remote {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changed)
}

// count returns how many events e the recorder has.
func (r *recorder) count(e string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, x := range r.events {
		if x == e {
			c++
		}
	}
	return c
}

// waitEvents waits until the recorder has at least the given number of each
// event.
func (r *recorder) waitEvents(t *testing.T, want map[string]int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for e, c := range want {
			if r.count(e) < c {
				return false
			}
		}
		return true
	}, waitFor, tick, "want events %v", want)
}
