package sim_test

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/peerweave/peerweave/internal/sim"
)

var (
	seeds    = flag.Int("sim.seeds", defaultSeeds, "how many seeds TestSim runs, from -sim.first on")
	first    = flag.Uint64("sim.first", 1, "the first seed of a sweep")
	seed     = flag.Int64("sim.seed", -1, "the one seed TestSim runs, if not -1")
	nodes    = flag.Int("sim.nodes", 10, "how many nodes each run starts with (5 to 50)")
	duration = flag.Duration("sim.duration", 10*time.Minute, "the virtual time during which faults happen")
	shrink   = flag.Int("sim.shrink", 40, "how many runs a failing seed may take to shrink its schedule")
	verbose  = flag.Bool("sim.v", false, "log what the nodes do, at debug level, to stderr")
)

// TestSim runs a sweep of seeds, each a whole cluster under a schedule of
// faults in a synctest bubble, and reports every broken promise with the
// command that reruns its seed.
func TestSim(t *testing.T) {
	if *verbose {
		sim.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	list := make([]uint64, 0, *seeds)
	if *seed >= 0 {
		list = append(list, uint64(*seed))
	} else {
		for i := range uint64(*seeds) {
			list = append(list, *first+i)
		}
	}
	var (
		virtual atomic.Int64
		failed  atomic.Int64
		mu      sync.Mutex
	)
	began := time.Now()
	t.Cleanup(func() {
		real := time.Since(began)
		v := time.Duration(virtual.Load())
		line := fmt.Sprintf("sim: %d seeds, %v simulated in %v real (%.0f× real time), %d failed",
			len(list), v.Round(time.Second), real.Round(time.Millisecond), v.Seconds()/real.Seconds(), failed.Load())
		fmt.Fprintln(os.Stderr, line)
	})
	for _, sd := range list {
		t.Run(fmt.Sprint(sd), func(t *testing.T) {
			t.Parallel()
			s := sim.Generate(sim.Config{Seed: sd, Nodes: *nodes, Duration: *duration})
			res := run(t, s)
			t.Log(res)
			virtual.Add(int64(res.Virtual))
			if len(res.Violations) == 0 {
				return
			}
			failed.Add(1)
			small := sim.Shrink(s, *shrink, func(s sim.Schedule) bool {
				r := run(t, s)
				return len(r.Violations) > 0
			})
			mu.Lock()
			defer mu.Unlock()
			t.Errorf("seed %d broke %d promises:\n%s\nschedule: %v\nshrunk to %d of %d faults: %v\nrerun: go test ./internal/sim -run TestSim -sim.seed=%d -sim.nodes=%d -sim.duration=%v",
				sd, len(res.Violations), lines(res.Violations), s, len(small.Faults), len(s.Faults), small,
				sd, *nodes, *duration)
		})
	}
}

// run runs one schedule in a bubble of its own. A bubble whose goroutines
// outlive Run panics; that is one more violation, after the one in which Run
// names the goroutines.
func run(t *testing.T, s sim.Schedule) (res sim.Result) {
	defer func() {
		if p := recover(); p != nil {
			res.Violations = append(res.Violations, sim.Violation{At: res.Virtual, Node: "-", Pair: "-", What: fmt.Sprint("synctest: ", p)})
		}
	}()
	synctest.Test(t, func(*testing.T) { res = sim.Run(s) })
	return res
}

func lines(vs []sim.Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\t%v\n", v)
	}
	return b.String()
}
