package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/peerweave/peerweave/internal/bench"
)

// stackName names the stack under test, as the cluster tests do.
func (c config) stackName() string { return c.transportName + "+" + c.codecName }

// throughput measures one-way throughput between two nodes, through Inbox and
// through a message handler, and both raw TCP baselines, with the same
// payload for the same time, in interleaved rounds so that a change in the
// machine's load hits all four alike.
func throughput(cfg config) []row {
	what := fmt.Sprintf("One-way throughput, %s, %s", cfg.stackName(), bench.SizeName(cfg.payload))
	opens := []func() (bench.Stream, error){
		func() (bench.Stream, error) { return bench.NodeStream(cfg.transport.network(), cfg.codec) },
		func() (bench.Stream, error) { return bench.RawStream(false) },
		func() (bench.Stream, error) { return bench.RawStream(true) },
		func() (bench.Stream, error) { return bench.NodeHandlerStream(cfg.transport.network(), cfg.codec) },
	}
	rates, err := streamRates(cfg, opens)
	if err != nil {
		return []row{failed(what, err)}
	}
	node := rates[0]
	var rows []row
	for i, name := range []string{"raw TCP, flushed when out of work", "raw TCP, flushed every frame"} {
		raw := rates[i+1]
		rows = append(rows, row{
			what:     what,
			measured: fmtRate(node),
			baseline: name + ": " + fmtRate(raw),
			ratio:    fmtRatio(node.MsgsPerSec() / raw.MsgsPerSec()),
		})
	}
	handled, raw := rates[3], rates[1]
	rows = append(rows, row{
		what:     what + ", through a message handler instead of Inbox",
		measured: fmtRate(handled),
		baseline: "raw TCP, flushed when out of work: " + fmtRate(raw),
		ratio:    fmtRatio(handled.MsgsPerSec() / raw.MsgsPerSec()),
	})
	return rows
}

// latency measures round trips between two nodes and a raw TCP ping-pong,
// in interleaved rounds.
func latency(cfg config) []row {
	what := fmt.Sprintf("Round trip, %s, %s", cfg.stackName(), bench.SizeName(cfg.payload))
	opens := []func() (bench.Echo, error){
		func() (bench.Echo, error) { return bench.NodeEcho(cfg.transport.network(), cfg.codec) },
		bench.RawEcho,
	}
	rows, err := tripRows(cfg, what, opens)
	if err != nil {
		return []row{failed(what, err)}
	}
	return rows
}

// streamRates opens and warms up a Stream with each of opens, measures them
// all with the configured payload in interleaved rounds, so that a change in
// the machine's load hits them alike, and closes them.
func streamRates(cfg config, opens []func() (bench.Stream, error)) ([]bench.Rate, error) {
	payload := make([]byte, cfg.payload)
	streams, closeAll, err := openAll(opens, func(s bench.Stream) error { return bench.Count(s, payload, bench.Warmup) })
	defer closeAll()
	if err != nil {
		return nil, err
	}
	rates := make([]bench.Rate, len(streams))
	for range cfg.rounds {
		for i, s := range streams {
			r, err := bench.For(s, payload, cfg.duration/time.Duration(cfg.rounds))
			if err != nil {
				return nil, err
			}
			rates[i] = rates[i].Plus(r)
		}
	}
	return rates, nil
}

// tripRows measures round trips through the Echo that opens[0] opens and
// through a raw TCP ping-pong, opens[1], in interleaved rounds, and returns
// their p50 and p99 rows.
func tripRows(cfg config, what string, opens []func() (bench.Echo, error)) ([]row, error) {
	payload := make([]byte, cfg.payload)
	echoes, closeAll, err := openAll(opens, func(e bench.Echo) error { return bench.Trips(e, payload, bench.Warmup) })
	defer closeAll()
	if err != nil {
		return nil, err
	}
	samples := make([][]time.Duration, len(echoes))
	for range cfg.rounds {
		for i, e := range echoes {
			s, err := bench.Latencies(e, payload, cfg.duration/time.Duration(cfg.rounds))
			if err != nil {
				return nil, err
			}
			samples[i] = append(samples[i], s...)
		}
	}
	for _, s := range samples {
		slices.Sort(s)
	}
	var rows []row
	for _, p := range []float64{50, 99} {
		n, r := bench.Percentile(samples[0], p), bench.Percentile(samples[1], p)
		rows = append(rows, row{
			what:     fmt.Sprintf("%s, p%g", what, p),
			measured: fmtDur(n),
			baseline: "raw TCP ping-pong: " + fmtDur(r),
			ratio:    fmtRatio(float64(n) / float64(r)),
		})
	}
	return rows, nil
}

// openAll opens and warms up a Stream or Echo with each of opens, and returns
// them with a function that closes every one it opened, even on error.
func openAll[T interface{ Close() error }](opens []func() (T, error), warm func(T) error) ([]T, func(), error) {
	var all []T
	closeAll := func() {
		for _, x := range all {
			x.Close()
		}
	}
	for _, open := range opens {
		x, err := open()
		if err != nil {
			return nil, closeAll, err
		}
		all = append(all, x)
		if err := warm(x); err != nil {
			return nil, closeAll, fmt.Errorf("warm-up: %w", err)
		}
	}
	return all, closeAll, nil
}

// convergence measures how long each cluster size takes to become a full
// mesh, next to the raw mesh of the same size measured in the same rounds,
// what joining cost each node, and what each connected remote costs in the
// largest mesh that formed.
func convergence(cfg config) []row {
	var rows []row
	var cost row
	for _, size := range cfg.sizes {
		what := convergenceName(cfg, size, cfg.convergeRounds)
		if need, limit, ok := fdsFit(cfg.transport, size); !ok {
			rows = append(rows, row{what: what, measured: fmt.Sprintf("skipped: needs %s open files, limit %s",
				group(int64(need)), group(int64(limit))), baseline: "—", ratio: "—"})
			continue
		}
		progress("convergence of %d nodes...", size)
		r, err := convergeRounds(cfg, cfg.transport, size, cfg.convergeRounds)
		if err != nil {
			rows = append(rows, failed(what, err))
			continue
		}
		rows = append(rows, r.rows(what, size)...)
		cost = r.costRow(cfg, size)
	}
	if cost.what != "" {
		rows = append(rows, cost)
	}
	return rows
}

// convergenceName names the convergence of size nodes over rounds rounds.
func convergenceName(cfg config, size, rounds int) string {
	how := "all Add one seed at once"
	if !cfg.concurrent {
		how = "each Adds one seed in turn"
	}
	return fmt.Sprintf("Convergence, %d nodes, %s, %s, median of %d", size, cfg.stackName(), how, rounds)
}

// remoteCost is what one connected remote costs a node.
type remoteCost struct {
	heap, stacks float64 // bytes
	goroutines   float64
}

// converge starts size nodes, meshes them and returns how long that took,
// what each connected remote costs and what joining cost the nodes.
func converge(cfg config, t transport, size int) (time.Duration, remoteCost, work, error) {
	f, err := newFleet(size, t.network(), cfg.codec)
	if err != nil {
		return 0, remoteCost{}, work{}, err
	}
	defer f.close()
	before := measureUsage()
	took, err := f.converge(cfg.concurrent)
	if err != nil {
		return 0, remoteCost{}, work{}, err
	}
	w := f.work()
	after := measureUsage()
	remotes := float64(size * (size - 1))
	return took, remoteCost{
		heap:       float64(after.heap-before.heap) / remotes,
		stacks:     float64(after.stacks-before.stacks) / remotes,
		goroutines: float64(after.goroutines-before.goroutines) / remotes,
	}, w, nil
}

// fdsFit reports whether a mesh of size nodes on t fits under the open-file
// limit, with what it needs and the limit.
func fdsFit(t transport, size int) (need, limit uint64, ok bool) {
	limit, known := openFileLimit()
	need = uint64(t.fdsPerConn*size*(size-1)/2 + size + 64)
	return need, limit, !known || t.fdsPerConn == 0 || need <= limit
}

// failure measures failure detection, black-holed and reset.
func failure(cfg config) []row {
	bound := cfg.healthy + cfg.timeout
	var rows []row
	for _, c := range []struct {
		name string
		k    kill
	}{{"black-holed", blackhole}, {"connections reset", reset}} {
		what := fmt.Sprintf("Failure detection, %s, %d nodes, %s, max of %d", cfg.stackName(), cfg.failNodes, c.name, cfg.failRounds)
		took, err := repeat(cfg.failRounds, func() (time.Duration, error) {
			return detection(cfg.failNodes, cfg.transport, cfg.codec, cfg.healthy, cfg.timeout, c.k)
		})
		if err != nil {
			rows = append(rows, failed(what, err))
			continue
		}
		worst := took[len(took)-1]
		rows = append(rows, row{
			what:     what,
			measured: fmt.Sprintf("%s (median %s)", fmtDur(worst), fmtDur(bench.Percentile(took, 50))),
			baseline: fmt.Sprintf("bound: healthy %s + timeout %s = %s", fmtDur(cfg.healthy), fmtDur(cfg.timeout), fmtDur(bound)),
			ratio:    fmtRatio(float64(worst) / float64(bound)),
		})
	}
	return rows
}

// repeat runs measure n times and returns the durations, sorted, or the
// first error.
func repeat(n int, measure func() (time.Duration, error)) ([]time.Duration, error) {
	took := make([]time.Duration, 0, n)
	for range n {
		d, err := measure()
		if err != nil {
			return nil, err
		}
		took = append(took, d)
	}
	slices.Sort(took)
	return took, nil
}
