package main

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
)

// Goals of the secret section: the least share of its throughput a pair of
// nodes keeps at 1 KiB with a secret, and the most times as long a cluster
// with a secret takes to converge.
const (
	secretThroughputGoal = 0.6
	secretConvergeGoal   = 2.0
)

// secretSizes are the payload sizes of the secret section's throughput, and
// secretMesh the largest mesh it converges: the largest of -n up to it.
var (
	secretSizes = []int{1 << 10, 64 << 10}
	secretMesh  = 100
)

// secretCost measures what WithSecret (TLS 1.3 on every connection and a
// proof of the secret in each handshake) costs: one-way throughput at each
// of secretSizes, the round trip's p50 and p99, and the convergence of a
// mesh (see secretMesh), each next to the same without a secret, in
// interleaved rounds.
func secretCost(cfg config) []row {
	with := cluster.WithSecret(cluster.NewSecret())
	var rows []row
	for _, size := range secretSizes {
		what := fmt.Sprintf("One-way throughput with a secret (TLS 1.3), %s, %s", cfg.stackName(), bench.SizeName(size))
		c := cfg
		c.payload = size
		rates, err := streamRates(c, []func() (bench.Stream, error){
			func() (bench.Stream, error) { return bench.NodeStream(cfg.transport.network(), cfg.codec, with) },
			func() (bench.Stream, error) { return bench.NodeStream(cfg.transport.network(), cfg.codec) },
		})
		if err != nil {
			rows = append(rows, failed(what, err))
			continue
		}
		rows = append(rows, row{
			what:     what,
			measured: fmtRate(rates[0]),
			baseline: fmt.Sprintf("no secret: %s; goal at 1 KiB ≥ %.2g×", fmtRate(rates[1]), secretThroughputGoal),
			ratio:    fmtRatio(rates[0].MsgsPerSec() / rates[1].MsgsPerSec()),
		})
	}
	rows = append(rows, secretTrips(cfg, with)...)
	return append(rows, secretConvergence(cfg, with))
}

// secretTrips measures round trips with and without a secret, in
// interleaved rounds, and returns their p50 and p99 rows.
func secretTrips(cfg config, with cluster.Option) []row {
	what := fmt.Sprintf("Round trip with a secret (TLS 1.3), %s, %s", cfg.stackName(), bench.SizeName(cfg.payload))
	payload := make([]byte, cfg.payload)
	echoes, closeAll, err := openAll([]func() (bench.Echo, error){
		func() (bench.Echo, error) { return bench.NodeEcho(cfg.transport.network(), cfg.codec, with) },
		func() (bench.Echo, error) { return bench.NodeEcho(cfg.transport.network(), cfg.codec) },
	}, func(e bench.Echo) error { return bench.Trips(e, payload, bench.Warmup) })
	defer closeAll()
	if err != nil {
		return []row{failed(what, err)}
	}
	samples := make([][]time.Duration, len(echoes))
	for range cfg.rounds {
		for i, e := range echoes {
			s, err := bench.Latencies(e, payload, cfg.duration/time.Duration(cfg.rounds))
			if err != nil {
				return []row{failed(what, err)}
			}
			samples[i] = append(samples[i], s...)
		}
	}
	var rows []row
	for _, s := range samples {
		slices.Sort(s)
	}
	for _, p := range []float64{50, 99} {
		n, r := bench.Percentile(samples[0], p), bench.Percentile(samples[1], p)
		rows = append(rows, row{
			what:     fmt.Sprintf("%s, p%g", what, p),
			measured: fmtDur(n),
			baseline: "no secret: " + fmtDur(r),
			ratio:    fmtRatio(float64(n) / float64(r)),
		})
	}
	return rows
}

// secretConvergence measures the convergence of a mesh with and without a
// secret, alternating, and returns the row of their medians.
func secretConvergence(cfg config, with cluster.Option) row {
	size := 0
	for _, n := range cfg.sizes {
		if n <= secretMesh {
			size = max(size, n)
		}
	}
	what := fmt.Sprintf("Convergence with a secret (TLS 1.3), %d nodes, %s, median of %d", size, cfg.stackName(), cfg.convergeRounds)
	if size == 0 {
		return row{what: what, measured: fmt.Sprintf("skipped: no -n of at most %d", secretMesh), baseline: "—", ratio: "—"}
	}
	if need, limit, ok := fdsFit(cfg.transport, size); !ok {
		return row{what: what, measured: fmt.Sprintf("skipped: needs %s open files, limit %s",
			group(int64(need)), group(int64(limit))), baseline: "—", ratio: "—"}
	}
	var took [2][]time.Duration
	for range cfg.convergeRounds {
		for i, opts := range [][]cluster.Option{{with}, nil} {
			runtime.GC()
			f, err := newFleet(size, cfg.transport.network(), cfg.codec, opts...)
			if err != nil {
				return failed(what, err)
			}
			d, err := f.converge(cfg.concurrent)
			f.close()
			if err != nil {
				return failed(what, err)
			}
			took[i] = append(took[i], d)
		}
	}
	s, p := sorted(took[0]), sorted(took[1])
	n, b := bench.Percentile(s, 50), bench.Percentile(p, 50)
	return row{
		what:     what,
		measured: fmt.Sprintf("%s (%s to %s)", fmtDur(n), fmtDur(s[0]), fmtDur(s[len(s)-1])),
		baseline: fmt.Sprintf("no secret: %s (%s to %s); goal ≤ %.2g×", fmtDur(b), fmtDur(p[0]), fmtDur(p[len(p)-1]), secretConvergeGoal),
		ratio:    fmtRatio(float64(n) / float64(b)),
	}
}
