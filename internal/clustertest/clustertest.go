// Package clustertest is the scaffolding that the tests of the cluster and
// discovery packages share: the settings of test nodes, a harness that makes
// nodes behind a fault network, waits for membership that block on the
// node's own events (Node.Wait and Node.WaitMesh) instead of polling, and a
// recorder of a node's callbacks.
//
// Every wait fails the test, with a message that names what it waited for
// and what it got, once its time (WaitFor, unless it takes another) has
// passed or the node closed. Helpers that can fail the test must be called
// on the test's goroutine.
package clustertest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/tcp"
)

// Settings of test nodes: short enough to keep the suites fast, long enough
// that a loaded machine running the race detector does not miss a deadline.
const (
	Healthy   = 100 * time.Millisecond
	Timeout   = 2 * time.Second
	Reconnect = 200 * time.Millisecond
	// WaitFor is how long a test waits for an expected event.
	WaitFor = 15 * time.Second
	// Tick is how often a test polls state that announces no change, such
	// as the goroutines of the process.
	Tick = 5 * time.Millisecond
)

// Fast returns the options that give a node the settings of test nodes.
func Fast() []cluster.Option {
	return []cluster.Option{
		cluster.WithHealthyInterval(Healthy),
		cluster.WithNetworkTimeout(Timeout),
		cluster.WithReconnectInterval(Reconnect),
	}
}

// Patient returns the option that gives a node the library's default network
// timeout in place of Fast's, for a test that is not about timeouts and
// makes many handshakes: a QUIC handshake under the race detector on a
// loaded machine can outlast Timeout, and a failed handshake is not what
// such a test checks.
func Patient() cluster.Option { return cluster.WithNetworkTimeout(cluster.DefaultNetworkTimeout) }

// Sources of transports for the nodes of one test: each call returns a new
// source, and the transports of one source reach each other.

// TCPTransports returns a source of TCP transports.
func TCPTransports() func() cluster.Transport {
	return func() cluster.Transport { return tcp.New() }
}

// MemTransports returns a source of transports on one new in-memory network,
// where a node may listen on any IP address.
func MemTransports() func() cluster.Transport {
	nw := mem.NewNetwork()
	return func() cluster.Transport { return nw }
}

// QUICTransports returns a source of QUIC transports.
func QUICTransports() func() cluster.Transport {
	return func() cluster.Transport { return quic.New() }
}

// Remote returns n as a remote of other nodes.
func Remote(n *cluster.Node) cluster.Remote { return cluster.Remote(*n.Addr()) }

// Names returns the addresses of xs, nodes or remotes, sorted.
func Names[S fmt.Stringer](xs ...S) []string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	slices.Sort(s)
	return s
}

// RemoteNames returns the addresses of n's remotes, sorted.
func RemoteNames(n *cluster.Node) []string { return Names(n.Remotes()...) }

// Others returns the nodes of ns but n.
func Others(n *cluster.Node, ns []*cluster.Node) []*cluster.Node {
	var o []*cluster.Node
	for _, m := range ns {
		if m != n {
			o = append(o, m)
		}
	}
	return o
}

// Receive waits for the next message on n's Inbox.
func Receive(t testing.TB, n *cluster.Node) *cluster.Message {
	t.Helper()
	timer := time.NewTimer(WaitFor)
	defer timer.Stop()
	select {
	case m, ok := <-n.Inbox:
		require.True(t, ok, "%s: inbox closed", n)
		return m
	case <-timer.C:
		require.FailNow(t, "no message", "%s received nothing in %v", n, WaitFor)
		return nil
	}
}
