package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/metrics/promcluster"
)

// observedGoal is the least share of its throughput a node keeps when it is
// observed.
const observedGoal = 0.97

// scrapeIntervals are how often the observed section gathers the nodes'
// Prometheus metrics: ten times a second, 150 times as often as
// Prometheus's default scrape interval of 15 s, and a thousand times a
// second, which shows what a gathering costs.
var scrapeIntervals = []time.Duration{100 * time.Millisecond, time.Millisecond}

// observed measures what observing costs: one-way throughput between two
// nodes with an observer counting every event of both and their Prometheus
// metrics (per remote too) gathered at each of scrapeIntervals, next to two
// nodes that nobody observes, in interleaved rounds.
func observed(cfg config) []row {
	what := func(every time.Duration) string {
		return fmt.Sprintf("One-way throughput observed, %s, %s: an event counter, and Prometheus metrics gathered every %s",
			cfg.stackName(), bench.SizeName(cfg.payload), fmtDur(every))
	}
	var opens []func() (bench.Stream, error)
	for _, every := range scrapeIntervals {
		opens = append(opens, func() (bench.Stream, error) {
			return bench.ObservedNodeStream(cfg.transport.network(), cfg.codec, every, gatherMetrics)
		})
	}
	opens = append(opens, func() (bench.Stream, error) { return bench.NodeStream(cfg.transport.network(), cfg.codec) })
	rates, err := streamRates(cfg, opens)
	if err != nil {
		return []row{failed(what(scrapeIntervals[0]), err)}
	}
	plain := rates[len(rates)-1]
	var rows []row
	for i, every := range scrapeIntervals {
		rows = append(rows, row{
			what:     what(every),
			measured: fmtRate(rates[i]),
			baseline: fmt.Sprintf("not observed: %s; goal ≥ %.2g×", fmtRate(plain), observedGoal),
			ratio:    fmtRatio(rates[i].MsgsPerSec() / plain.MsgsPerSec()),
		})
	}
	return rows
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
