package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/peerweave/peerweave/internal/sim"
	"github.com/peerweave/peerweave/transport/fault"
)

// The seeds that sweeps found failing, each rerun as it failed.
var regressions = []struct {
	seed uint64
	why  string
}{
	{1397, "a joiner whose seed had been cut off from the cluster, and then left, stayed an island (the application now re-adds a live node)"},
	{100545, "a joiner kept retrying a seed that had left (the application now retries a live node)"},
}

// Seeds of node bugs the sweeps found, each with its schedule shrunk; fix
// says what fixed it.
var fixed = []struct {
	s   sim.Schedule
	why string
	fix string
}{
	{sim.Schedule{Config: sim.Config{Seed: 172, Nodes: 10, Duration: 10 * time.Minute}, Faults: []sim.Fault{{
		At: 4*time.Minute + 5189*time.Millisecond, For: 2*time.Minute + 27232*time.Millisecond, Kind: sim.Slow, A: 4, B: 0,
		Link: fault.Link{Bandwidth: 16 << 10, Latency: 497 * time.Millisecond, SendBuffer: 512 << 10},
	}}}, "a write stalled on a 16 KiB/s link with a 512 KiB send buffer, which moved bytes all along (seeds 100298, 172, 399, 539)",
		"issue 20: the node judged a write by one Write call's deadline, and a writer blocked on a full send buffer wakes only once a third of it drained, 10.7 s at 16 KiB/s; fixed by the progress-based write deadline (transport.Unacked)"},
}

func TestSimRegressions(t *testing.T) {
	for _, r := range regressions {
		t.Run(fmt.Sprint(r.seed), func(t *testing.T) {
			t.Log(r.why)
			t.Parallel()
			res := run(t, sim.Generate(sim.Config{Seed: r.seed, Nodes: 10, Duration: 10 * time.Minute}))
			if len(res.Violations) > 0 {
				t.Errorf("seed %d: %v\n%s", r.seed, res, lines(res.Violations))
			}
		})
	}
	for _, r := range fixed {
		t.Run(fmt.Sprint(r.s.Seed), func(t *testing.T) {
			t.Log(r.why)
			t.Log(r.fix)
			t.Parallel()
			if res := run(t, r.s); len(res.Violations) > 0 {
				t.Errorf("broken again: %v\n%s", res, lines(res.Violations))
			}
		})
	}
}
