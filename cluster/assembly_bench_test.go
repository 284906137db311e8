package cluster_test

import (
	"testing"

	"github.com/peerweave/peerweave/internal/bench"
)

// BenchmarkLargeOneWay measures one-way throughput of payloads that cross in
// fragments (more than 64 KiB), the path that the node-wide budget for
// payloads under way (assembly.go) sits on, on the first stack (tcp+gob),
// next to raw-tcp-buffered, which writes the same bytes with nothing in
// between: the ratio of the two is what fragmented payloads cost.
//
//	go test -run='^$' -bench=LargeOneWay ./cluster
func BenchmarkLargeOneWay(b *testing.B) {
	s := stacks[0]
	for _, size := range []int{256 << 10, 1 << 20} {
		b.Run(bench.SizeName(size), func(b *testing.B) {
			b.Run(s.name, func(b *testing.B) {
				benchStream(b, size, func() (bench.Stream, error) { return bench.NodeStream(s.network(), s.codec) })
			})
			b.Run("raw-tcp-buffered", func(b *testing.B) {
				benchStream(b, size, func() (bench.Stream, error) { return bench.RawStream(false) })
			})
		})
	}
}
