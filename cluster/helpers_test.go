package cluster_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/fault"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The scaffolding shared with the discovery tests, by the short names the
// tests of this package use.
const waitFor, tick = clustertest.WaitFor, clustertest.Tick

var (
	mesh        = clustertest.Mesh
	waitMesh    = clustertest.WaitFullMesh
	waitRemotes = clustertest.WaitRemotes
	waitKnows   = clustertest.WaitKnows
	waitViews   = clustertest.WaitViews
	receive     = clustertest.Receive
	remote      = clustertest.Remote
	others      = clustertest.Others
	remoteNames = clustertest.RemoteNames
	names       = clustertest.Names[*cluster.Node]
	stringers   = clustertest.Stringers[*cluster.Node]
	newRecorder = clustertest.NewRecorder
	record      = clustertest.Record
)

type recorder = clustertest.Recorder

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
		{"tcp", clustertest.TCPTransports},
		{"mem", clustertest.MemTransports},
		{"quic", clustertest.QUICTransports},
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

// harness makes the nodes of one test on one stack: the shared harness,
// with the stack, and with the names fuzz_test.go uses for its parts.
type harness struct {
	*clustertest.Harness
	stack  stack
	faults *fault.Network // the harness's Faults
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
	h := clustertest.NewHarness(t, s.network(), cluster.WithCodec(s.codec))
	return &harness{Harness: h, stack: s, faults: h.Faults}
}

// node starts a node with test settings, closed when the test ends.
func (h *harness) node(extra ...cluster.Option) *cluster.Node { return h.Node(extra...) }

// nodes starts count nodes with test settings.
func (h *harness) nodes(count int, extra ...cluster.Option) []*cluster.Node {
	return h.Nodes(count, extra...)
}

// transport returns a transport of the stack, without the fault network.
func (h *harness) transport() cluster.Transport { return h.Transport() }
