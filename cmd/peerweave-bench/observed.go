package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/metrics/promcluster"
)

// observedGoal is the least share of its throughput a node keeps when it is
// observed.
const observedGoal = 0.97

// observed measures what observing costs: one-way throughput between two
// nodes with an observer counting every event of both and their Prometheus
// metrics (per remote too) gathered every millisecond, next to two nodes
// that nobody observes, in interleaved rounds.
func observed(cfg config) []row {
	what := fmt.Sprintf("One-way throughput observed, %s, %s: an event counter, and Prometheus metrics gathered every %s",
		cfg.stackName(), bench.SizeName(cfg.payload), fmtDur(bench.ScrapeEvery))
	opens := []func() (bench.Stream, error){
		func() (bench.Stream, error) {
			return bench.ObservedNodeStream(cfg.transport.network(), cfg.codec, gatherMetrics)
		},
		func() (bench.Stream, error) { return bench.NodeStream(cfg.transport.network(), cfg.codec) },
	}
	rates, err := streamRates(cfg, opens)
	if err != nil {
		return []row{failed(what, err)}
	}
	return []row{{
		what:     what,
		measured: fmtRate(rates[0]),
		baseline: fmt.Sprintf("not observed: %s; goal ≥ %.2g×", fmtRate(rates[1]), observedGoal),
		ratio:    fmtRatio(rates[0].MsgsPerSec() / rates[1].MsgsPerSec()),
	}}
}

// gatherMetrics registers the metrics of both nodes, per remote too, and
// returns a function that gathers them all, as a Prometheus scrape does.
func gatherMetrics(a, b *cluster.Node) func() {
	reg := prometheus.NewRegistry()
	for _, n := range []*cluster.Node{a, b} {
		prometheus.WrapRegistererWith(prometheus.Labels{"node": n.String()}, reg).
			MustRegister(promcluster.New(n, promcluster.WithRemoteLabels()))
	}
	return func() {
		if _, err := reg.Gather(); err != nil {
			panic(err) // the collector's metrics are consistent by construction
		}
	}
}
