package cluster_test

import (
	"testing"

	"github.com/peerweave/peerweave/internal/bench"
)

// BenchmarkObserved measures what observing a node costs: one-way
// throughput at 1 KiB, as BenchmarkOneWay does, on TCP and in memory, with
// nothing observing the nodes (observer=none) and with an observer that
// counts every event while the statistics of both nodes are read every
// millisecond, far more often than a scraper would (observer=counted). The
// two should be within the noise of each other:
//
//	go test -run='^$' -bench=Observed -count=10 ./cluster | benchstat -col /observer -
func BenchmarkObserved(b *testing.B) {
	for _, s := range stacks {
		if s.codec.Name() != "gob" || s.name == "quic+gob" {
			continue
		}
		b.Run(s.name, func(b *testing.B) {
			b.Run("observer=none", func(b *testing.B) {
				benchStream(b, 1<<10, func() (bench.Stream, error) { return bench.NodeStream(s.network(), s.codec) })
			})
			b.Run("observer=counted", func(b *testing.B) {
				benchStream(b, 1<<10, func() (bench.Stream, error) {
					return bench.ObservedNodeStream(s.network(), s.codec, bench.ScrapeEvery, bench.ScrapeStats)
				})
			})
		})
	}
}
