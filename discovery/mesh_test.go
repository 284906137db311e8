package discovery_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/discovery"
	"github.com/peerweave/peerweave/internal/clustertest"
)

// dnsLayout is how a test publishes nodes in DNS, and the transport they
// need for it.
type dnsLayout struct {
	name string
	// transports returns the source of the transports of one test's nodes.
	transports func() func() cluster.Transport
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
		name:       "A records on mem",
		transports: clustertest.MemTransports,
		laddr:      func(i int) string { return fmt.Sprintf("10.0.0.%d:7946", i+1) },
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
		name:       "SRV records on TCP",
		transports: clustertest.TCPTransports,
		laddr:      func(int) string { return "127.0.0.1:0" },
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

// TestFiveNodesMeshThroughDNS is the whole story: nodes that know only a DNS
// name find each other, lose the nodes that leave the answer and die, and
// ride out a DNS outage.
func TestFiveNodesMeshThroughDNS(t *testing.T) {
	t.Parallel()
	for _, layout := range dnsLayouts {
		t.Run(layout.name, func(t *testing.T) {
			t.Parallel()
			s := newDNSServer(t)
			h := clustertest.NewHarness(t, layout.transports())
			h.Listen = layout.laddr
			logs, log := h.Logs, h.Logs.Logger()
			ns := make([]*cluster.Node, 5)
			recs := make([]*clustertest.Recorder, 5)
			for i := range ns {
				recs[i] = clustertest.NewRecorder()
				ns[i] = h.Node(recs[i].Options()...)
			}
			layout.publish(s, ns)
			stops := make([]func() error, len(ns))
			for i, n := range ns {
				stops[i] = startJoin(t, n, layout.source(s), fastJoin(log)...)
			}
			clustertest.WaitFullMesh(t, ns...)

			// Gone from DNS, then closed: the others let it go at once.
			layout.publish(s, ns[:4])
			require.ErrorIs(t, stops[4](), context.Canceled)
			ns[4].Close()
			clustertest.WaitFullMesh(t, ns[:4]...)

			// Gone from DNS, then cut off: health checks remove it.
			layout.publish(s, ns[:3])
			require.ErrorIs(t, stops[3](), context.Canceled)
			h.Faults.Isolate(ns[3].String())
			survivors := ns[:3]
			clustertest.WaitFullMesh(t, survivors...)
			for i := range survivors {
				recs[i].WaitEvents(t, map[string]int{"-" + ns[3].String(): 1, "-" + ns[4].String(): 1})
			}

			// DNS goes down while a node is published; every joiner
			// logs it, carries on and finds the node once DNS is back.
			s.stop()
			for _, n := range survivors {
				logs.Wait(t, waitFor, "WARN discovery source failed", "node="+n.String()+" ")
			}
			newcomer := h.Node()
			layout.publish(s, append(survivors[:3:3], newcomer))
			s.start()
			for _, n := range survivors {
				logs.Wait(t, waitFor, "INFO discovery source recovered", "node="+n.String()+" ")
			}
			clustertest.WaitFullMesh(t, append(survivors[:3:3], newcomer)...)
		})
	}
}

func TestMeshThroughAFileWithAMalformedLine(t *testing.T) {
	t.Parallel()
	h := clustertest.NewHarness(t, clustertest.MemTransports())
	h.Listen = func(i int) string { return fmt.Sprintf("10.0.1.%d:7946", i+1) }
	logs, log := h.Logs, h.Logs.Logger()
	ns := h.Nodes(3)
	path := filepath.Join(t.TempDir(), "peers")
	write := func(lines ...string) {
		require.NoError(t, os.WriteFile(path+".new", []byte(strings.Join(lines, "\n")), 0o600))
		require.NoError(t, os.Rename(path+".new", path))
	}
	write("# peers", ns[0].String(), "10.0.1.99", ns[1].String(), ns[2].String())
	for _, n := range ns {
		startJoin(t, n, discovery.File(path), fastJoin(log)...)
	}
	clustertest.WaitFullMesh(t, ns...)
	for _, n := range ns {
		logs.Wait(t, waitFor, "WARN discovery source failed", "node="+n.String()+" ", path+":3:", `"10.0.1.99"`)
	}

	// The line is fixed and a node that runs no joiner is listed: every
	// joiner recovers and adds it.
	newcomer := h.Node()
	write("# peers", ns[0].String(), newcomer.String(), ns[1].String(), ns[2].String())
	for _, n := range ns {
		logs.Wait(t, waitFor, "INFO discovery source recovered", "node="+n.String()+" ")
	}
	clustertest.WaitFullMesh(t, append(ns, newcomer)...)
}
