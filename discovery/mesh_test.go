package discovery_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/discovery"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/tcp"
)

// dnsLayout is how a test publishes nodes in DNS, and the transport they
// need for it.
type dnsLayout struct {
	name string
	// transport returns the transport of each node of one test.
	transport func() func() cluster.Transport
	// laddr is the listen address of the i-th node.
	laddr func(i int) string
	// publish makes the server's answer name exactly ns.
	publish func(s *dnsServer, ns []*cluster.Node)
	// source is what every node is given.
	source func(s *dnsServer) discovery.Source
}

const peersName = "peers.peerweave.test."

var dnsLayouts = []dnsLayout{
	{
		// A Kubernetes headless service: one port, an IP per node.
		name: "A records on mem",
		transport: func() func() cluster.Transport {
			nw := mem.NewNetwork()
			return func() cluster.Transport { return nw }
		},
		laddr: func(i int) string { return fmt.Sprintf("10.0.0.%d:7946", i+1) },
		publish: func(s *dnsServer, ns []*cluster.Node) {
			var ips []string
			for _, n := range ns {
				ips = append(ips, n.Addr().IP.String())
			}
			s.setIPs(peersName, ips...)
		},
		source: func(s *dnsServer) discovery.Source { return discovery.DNS(peersName, 7946, s.resolver()) },
	},
	{
		// Consul or a hand-written zone: a host and a port per node.
		name:      "SRV records on TCP",
		transport: func() func() cluster.Transport { return func() cluster.Transport { return tcp.New() } },
		laddr:     func(int) string { return "127.0.0.1:0" },
		publish: func(s *dnsServer, ns []*cluster.Node) {
			var targets []srvTarget
			for _, n := range ns {
				host := fmt.Sprintf("node-%d.peerweave.test.", n.Addr().Port)
				s.setIPs(host, n.Addr().IP.String())
				targets = append(targets, srvTarget{host, uint16(n.Addr().Port)})
			}
			s.setSRV(peersName, targets...)
		},
		source: func(s *dnsServer) discovery.Source { return discovery.SRV(peersName, s.resolver()) },
	},
}

// cast makes the nodes of one test on one transport, behind a fault network.
type cast struct {
	t         *testing.T
	faults    *fault.Network
	transport func() cluster.Transport
	laddr     func(i int) string
	log       *slog.Logger
	made      int
}

func (c *cast) node() *cluster.Node {
	n, err := cluster.NewNode(c.laddr(c.made),
		cluster.WithTransport(c.faults.Wrap(c.transport())),
		cluster.WithLogger(c.log))
	require.NoError(c.t, err)
	c.made++
	fast(n)
	c.t.Cleanup(n.Close)
	return n
}

// TestFiveNodesMeshThroughDNS is the whole story: nodes that know only a DNS
// name find each other, lose the nodes that leave the answer and die, and
// ride out a DNS outage.
func TestFiveNodesMeshThroughDNS(t *testing.T) {
	t.Parallel()
	for _, layout := range dnsLayouts {
		t.Run(layout.name, func(t *testing.T) {
			t.Parallel()
			s := newDNSServer(t)
			log, logs := newLogger(t)
			c := &cast{t: t, faults: fault.NewNetwork(), transport: layout.transport(), laddr: layout.laddr, log: log}
			ns := make([]*cluster.Node, 5)
			recs := make([]*recorder, 5)
			for i := range ns {
				ns[i] = c.node()
				recs[i] = record(ns[i])
			}
			layout.publish(s, ns)
			stops := make([]func() error, len(ns))
			for i, n := range ns {
				stops[i] = startJoin(t, n, layout.source(s), fastJoin(log)...)
			}
			waitMesh(t, ns...)

			// Gone from DNS, then closed: the others let it go at once.
			layout.publish(s, ns[:4])
			require.ErrorIs(t, stops[4](), context.Canceled)
			ns[4].Close()
			waitMesh(t, ns[:4]...)

			// Gone from DNS, then cut off: health checks remove it.
			layout.publish(s, ns[:3])
			require.ErrorIs(t, stops[3](), context.Canceled)
			c.faults.Isolate(ns[3].String())
			survivors := ns[:3]
			waitMesh(t, survivors...)
			for i := range survivors {
				recs[i].waitRemoved(t, ns[3], ns[4])
			}

			// DNS goes down while a node is published; every joiner
			// logs it, carries on and finds the node once DNS is back.
			s.stop()
			for _, n := range survivors {
				logs.Wait(t, waitFor, "WARN discovery source failed", "node="+n.String()+" ")
			}
			newcomer := c.node()
			layout.publish(s, append(survivors[:3:3], newcomer))
			s.start()
			for _, n := range survivors {
				logs.Wait(t, waitFor, "INFO discovery source recovered", "node="+n.String()+" ")
			}
			waitMesh(t, append(survivors[:3:3], newcomer)...)
		})
	}
}

func TestMeshThroughAFileWithAMalformedLine(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	nw := mem.NewNetwork()
	c := &cast{t: t, faults: fault.NewNetwork(), transport: func() cluster.Transport { return nw },
		laddr: func(i int) string { return fmt.Sprintf("10.0.1.%d:7946", i+1) }, log: log}
	ns := []*cluster.Node{c.node(), c.node(), c.node()}
	path := filepath.Join(t.TempDir(), "peers")
	write := func(lines ...string) {
		require.NoError(t, os.WriteFile(path+".new", []byte(strings.Join(lines, "\n")), 0o600))
		require.NoError(t, os.Rename(path+".new", path))
	}
	write("# peers", ns[0].String(), "10.0.1.99", ns[1].String(), ns[2].String())
	for _, n := range ns {
		startJoin(t, n, discovery.File(path), fastJoin(log)...)
	}
	waitMesh(t, ns...)
	for _, n := range ns {
		logs.Wait(t, waitFor, "WARN discovery source failed", "node="+n.String()+" ", path+":3:", `"10.0.1.99"`)
	}

	// The line is fixed and a node that runs no joiner is listed: every
	// joiner recovers and adds it.
	newcomer := c.node()
	write("# peers", ns[0].String(), newcomer.String(), ns[1].String(), ns[2].String())
	for _, n := range ns {
		logs.Wait(t, waitFor, "INFO discovery source recovered", "node="+n.String()+" ")
	}
	waitMesh(t, append(ns, newcomer)...)
}

// recorder keeps the remotes a node's RemoteRemoved callback reports.
type recorder struct {
	mu      sync.Mutex
	removed map[string]bool
}

func record(n *cluster.Node) *recorder {
	r := &recorder{removed: make(map[string]bool)}
	n.RemoteRemoved(func(x cluster.Remote) {
		r.mu.Lock()
		r.removed[x.String()] = true
		r.mu.Unlock()
	})
	return r
}

// waitRemoved waits until the callback has reported every one of ns.
func (r *recorder) waitRemoved(t *testing.T, ns ...*cluster.Node) {
	t.Helper()
	assert.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, n := range ns {
			if !r.removed[n.String()] {
				return false
			}
		}
		return true
	}, waitFor, tick, "RemoteRemoved should report %v", ns)
}
