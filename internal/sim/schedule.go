package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
)

// Config is what a schedule is generated from.
type Config struct {
	// Seed seeds every random choice of the schedule, the workload and
	// the nodes.
	Seed uint64
	// Nodes is how many nodes the cluster starts with, 5 to 50.
	Nodes int
	// Duration is the virtual time during which faults happen and the
	// workload runs. The run then heals everything and waits for the
	// cluster to converge, so it lasts longer.
	Duration time.Duration
	// Healthy, Timeout and Reconnect are the nodes' intervals; zero is the
	// default of package cluster.
	Healthy, Timeout, Reconnect time.Duration
	// Settle is how long the run waits after the last heal before it
	// checks that the cluster converged; zero is what the manual
	// promises, Healthy + Timeout + Reconnect.
	Settle time.Duration
}

func (c Config) withDefaults() Config {
	if c.Nodes == 0 {
		c.Nodes = 10
	}
	c.Nodes = min(max(c.Nodes, 2), 50)
	if c.Duration == 0 {
		c.Duration = 10 * time.Minute
	}
	if c.Healthy == 0 {
		c.Healthy = cluster.DefaultHealthyInterval
	}
	if c.Timeout == 0 {
		c.Timeout = cluster.DefaultNetworkTimeout
	}
	if c.Reconnect == 0 {
		c.Reconnect = cluster.DefaultReconnectInterval
	}
	if c.Settle == 0 {
		c.Settle = c.Healthy + c.Timeout + c.Reconnect
	}
	return c
}

// Kind is what a Fault does.
type Kind uint8

// The kinds of faults. Each lasts For, then ends: the network heals, the
// link is unshaped, the node restarts or reads again, and a node that left
// is replaced by a new joiner.
const (
	Partition   Kind = iota + 1 // Group is cut off from the other nodes, both ways
	Cut                         // A hears nothing from B, one way
	Blackhole                   // A and B hear nothing from each other
	Slow                        // the link between A and B is shaped by Link, both ways
	Crash                       // A's connections drop with no goodbye; it restarts per Restart
	Leave                       // A closes gracefully; a new node joins when the fault ends
	CloseRemote                 // A closes its remote B gracefully
	Join                        // a new node joins the cluster through A
	Rotate                      // the cluster moves to a new secret, in three rounds
	Pause                       // A's application stops reading its Inbox
)

var kindNames = [...]string{"", "partition", "cut", "blackhole", "slow", "crash", "leave", "closeremote", "join", "rotate", "pause"}

func (k Kind) String() string { return kindNames[k] }

// Restart says how a crashed node comes back.
type Restart uint8

// The ways a crashed node comes back.
const (
	SameAddr Restart = iota // same address, same name
	NewAddr                 // new address, same name (a rescheduled pod)
	NewNode                 // new address, new name
	Never                   // it stays down
)

var restartNames = [...]string{"same address", "new address", "new node", "never"}

// Fault is one event of a schedule. A and B are slots: a slot holds one node
// at a time, and a crashed node that restarts takes its slot again.
type Fault struct {
	At, For time.Duration
	Kind    Kind
	A, B    int
	Group   []int
	Restart Restart
	Link    fault.Link
}

func (f Fault) String() string {
	s := fmt.Sprintf("%v+%v %v", f.At, f.For, f.Kind)
	switch f.Kind {
	case Partition:
		s += fmt.Sprint(" ", f.Group)
	case Cut, Blackhole, CloseRemote:
		s += fmt.Sprintf(" %d,%d", f.A, f.B)
	case Slow:
		s += fmt.Sprintf(" %d,%d %dB/s %v", f.A, f.B, f.Link.Bandwidth, f.Link.Latency)
		if f.Link.SendBuffer > 0 {
			s += fmt.Sprintf(" sndbuf %d", f.Link.SendBuffer)
		}
	case Crash:
		s += fmt.Sprintf(" %d (%s)", f.A, restartNames[f.Restart])
	case Leave, Join, Pause:
		s += fmt.Sprintf(" %d", f.A)
	}
	return s
}

// Schedule is one run: its configuration and its faults, in order of At.
type Schedule struct {
	Config
	Faults []Fault
}

func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %d nodes, %v", s.Seed, s.Nodes, s.Duration)
	for _, f := range s.Faults {
		fmt.Fprintf(&b, "\n\t%v", f)
	}
	return b.String()
}

// Generate makes the schedule of a seed: about one fault per simulated
// minute, each of them lasting seconds to minutes. Network faults
// (partitions, cuts, black holes) do not overlap each other, so that each
// heal is one; the others overlap freely. Every fault ends by Duration.
func Generate(c Config) Schedule {
	c = c.withDefaults()
	r := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	s := Schedule{Config: c}
	slots := c.Nodes
	var netFree time.Duration // when the last network fault ends
	for at := randDur(r, 20*time.Second, 60*time.Second); at < c.Duration; at += randDur(r, 10*time.Second, 90*time.Second) {
		f := Fault{At: at, For: randDur(r, 5*time.Second, 3*time.Minute), A: r.IntN(slots), B: r.IntN(slots)}
		for f.B == f.A {
			f.B = r.IntN(slots)
		}
		switch p := r.IntN(100); {
		case p < 12:
			f.Kind = Partition
			for i := range slots {
				if r.IntN(3) == 0 {
					f.Group = append(f.Group, i)
				}
			}
			if len(f.Group) == 0 || len(f.Group) == slots {
				f.Group = []int{f.A}
			}
		case p < 22:
			f.Kind = Cut
		case p < 32:
			f.Kind = Blackhole
		case p < 44:
			f.Kind = Slow
			f.Link = fault.Link{Bandwidth: int64(16<<10) << r.IntN(7), Latency: randDur(r, 0, 500*time.Millisecond)}
			if r.IntN(2) == 0 { // a kernel's send buffer, 16 KiB to 512 KiB
				f.Link.SendBuffer = 16 << 10 << r.IntN(6)
			}
		case p < 56:
			f.Kind = Crash
			f.Restart = Restart(r.IntN(4))
		case p < 63:
			f.Kind = Leave
		case p < 70:
			f.Kind = CloseRemote
		case p < 78:
			f.Kind = Join
			f.A = slots
			f.B = r.IntN(slots)
			slots++
		case p < 85:
			f.Kind = Rotate
			f.For = 0
		default:
			f.Kind = Pause
		}
		if f.Kind == Partition || f.Kind == Cut || f.Kind == Blackhole {
			if f.At < netFree {
				f.At = netFree + time.Second
			}
			netFree = f.At + f.For
		}
		if f.At >= c.Duration {
			continue
		}
		f.For = min(f.For, c.Duration-f.At)
		s.Faults = append(s.Faults, f)
	}
	slices.SortStableFunc(s.Faults, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	return s
}

// randDur returns a random duration in [lo, hi), in whole milliseconds.
func randDur(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64((hi-lo)/time.Millisecond)+1))*time.Millisecond
}
