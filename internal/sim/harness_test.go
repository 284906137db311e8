package sim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerweave/peerweave/internal/sim"
)

func TestGenerateIsTheSameForASeed(t *testing.T) {
	c := sim.Config{Seed: 42, Nodes: 10, Duration: 30 * time.Minute}
	a, b := sim.Generate(c), sim.Generate(c)
	if a.String() != b.String() {
		t.Fatalf("two schedules of one seed:\n%v\n%v", a, b)
	}
	if len(a.Faults) < 10 {
		t.Fatalf("%d faults in 30 minutes, want about one a minute:\n%v", len(a.Faults), a)
	}
	for i, f := range a.Faults {
		if f.At+f.For > c.Duration || (i > 0 && f.At < a.Faults[i-1].At) {
			t.Fatalf("fault %v out of order or past the end:\n%v", f, a)
		}
	}
}

func TestShrinkKeepsOnlyTheFaultsThatFail(t *testing.T) {
	s := sim.Generate(sim.Config{Seed: 7, Duration: 20 * time.Minute})
	culprit := s.Faults[len(s.Faults)/2]
	runs := 0
	small := sim.Shrink(s, 100, func(s sim.Schedule) bool {
		runs++
		return slices.ContainsFunc(s.Faults, func(f sim.Fault) bool { return f.String() == culprit.String() })
	})
	if len(small.Faults) != 1 || small.Faults[0].String() != culprit.String() {
		t.Fatalf("shrunk to %v, want only %v", small, culprit)
	}
	if runs != len(s.Faults) {
		t.Fatalf("%d runs for %d faults", runs, len(s.Faults))
	}
}

// A partition that heals at the end of the schedule must be healed by the
// bound of the manual, not a second after; so the convergence check holds
// with the bound and catches a cluster checked too soon.
func TestConvergenceIsCheckedAtTheBound(t *testing.T) {
	s := sim.Schedule{Config: sim.Config{Seed: 1, Nodes: 5, Duration: 3 * time.Minute}, Faults: []sim.Fault{
		{At: 30 * time.Second, For: 150 * time.Second, Kind: sim.Partition, Group: []int{0}},
	}}
	if res := run(t, s); len(res.Violations) > 0 {
		t.Fatalf("%v\n%s", res, lines(res.Violations))
	}
	s.Settle = time.Second
	res := run(t, s)
	if !slices.ContainsFunc(res.Violations, func(v sim.Violation) bool { return strings.Contains(v.What, "not a remote") }) {
		t.Fatalf("checked a second after the heal, found only:\n%s", lines(res.Violations))
	}
}
