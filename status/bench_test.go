package status_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/status"
)

// BenchmarkPage measures a request for the page of a node of 16 remotes,
// against its baseline, the node's statistics that every request reads
// (Stats and AllRemoteStats).
func BenchmarkPage(b *testing.B) {
	h := clustertest.NewHarness(b, clustertest.MemTransports())
	h.Listen = func(i int) string {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 7946).String()
	}
	rec := status.NewRecorder(0)
	nodes := []*cluster.Node{h.Node(cluster.WithObserver(rec))}
	for i := range 16 {
		nodes = append(nodes, h.Node(cluster.WithName(fmt.Sprintf("node-%02d", i)),
			cluster.WithTags(map[string]string{"role": "worker", "zone": "eu-1"})))
	}
	clustertest.Mesh(b, nodes...)
	n := nodes[0]
	page := status.Handler(n, status.WithRecorder(rec))

	b.Run("baseline=stats", func(b *testing.B) {
		for b.Loop() {
			n.Stats()
			n.AllRemoteStats()
		}
	})
	for _, target := range []string{"/", "/?format=json"} {
		b.Run("GET "+target, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				page.ServeHTTP(w, req)
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}
