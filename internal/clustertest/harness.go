package clustertest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/testlog"
	"github.com/peerweave/peerweave/transport/fault"
)

// Harness makes the nodes of one test: on transports from one source, behind
// one fault network, logging to one recorder, each closed when the test
// ends.
type Harness struct {
	// Faults is the network that every node's transport goes through.
	Faults *fault.Network
	// Logs keeps what every node logs.
	Logs *testlog.Recorder
	// Listen returns the address that the i-th node of the harness, from
	// 0, listens on: 127.0.0.1:0 unless the test sets it.
	Listen func(i int) string

	t          testing.TB
	transports func() cluster.Transport
	opts       []cluster.Option

	mu   sync.Mutex
	made int
}

// NewHarness returns a harness whose nodes use transports from transports
// and have opts, besides what Base and Options give them.
func NewHarness(t testing.TB, transports func() cluster.Transport, opts ...cluster.Option) *Harness {
	h := &Harness{
		Faults:     fault.NewNetwork(),
		Logs:       testlog.New(t),
		Listen:     func(int) string { return "127.0.0.1:0" },
		t:          t,
		transports: transports,
		opts:       opts,
	}
	// Once the nodes closed, the connections whose close a fault still
	// holds back close too, and with them what they hold in the transport.
	t.Cleanup(h.Faults.Heal)
	return h
}

// Transport returns a new transport from the harness's source, without the
// fault network: for a test that talks to nodes by hand.
func (h *Harness) Transport() cluster.Transport { return h.transports() }

// Base returns the options of a node of the harness with the library's
// default settings: its transport behind the fault network, its logger,
// the harness's options, then extra.
func (h *Harness) Base(extra ...cluster.Option) []cluster.Option {
	opts := []cluster.Option{
		cluster.WithTransport(h.Faults.Wrap(h.transports())),
		cluster.WithLogger(h.Logs.Logger()),
	}
	return append(append(opts, h.opts...), extra...)
}

// Options returns the options of a node of the harness with the settings
// of test nodes (Fast), then extra.
func (h *Harness) Options(extra ...cluster.Option) []cluster.Option {
	return h.Base(append(Fast(), extra...)...)
}

// Start starts a node with exactly opts, closed when the test ends.
func (h *Harness) Start(opts ...cluster.Option) *cluster.Node {
	h.t.Helper()
	h.mu.Lock()
	laddr := h.Listen(h.made)
	h.made++
	h.mu.Unlock()
	n, err := cluster.NewNode(laddr, opts...)
	require.NoError(h.t, err)
	h.t.Cleanup(n.Close)
	return n
}

// Node starts a node with the options of Options.
func (h *Harness) Node(extra ...cluster.Option) *cluster.Node {
	h.t.Helper()
	return h.Start(h.Options(extra...)...)
}

// Nodes starts count nodes with the options of Options.
func (h *Harness) Nodes(count int, extra ...cluster.Option) []*cluster.Node {
	h.t.Helper()
	ns := make([]*cluster.Node, count)
	for i := range ns {
		ns[i] = h.Node(extra...)
	}
	return ns
}
