package main

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/internal/joinwork"
)

// work is what joining the mesh cost the nodes of a fleet, per node.
type work struct {
	dials, tieLosses, entries float64 // means
	mostEntries               int64   // the node that sent the most
}

// work sums the join work of the fleet's nodes.
func (f *fleet) work() work {
	var w work
	for _, n := range f.nodes {
		x := joinwork.Of(n)
		w.dials += float64(x.Dials)
		w.tieLosses += float64(x.TieLosses)
		w.entries += float64(x.EntriesSent)
		w.mostEntries = max(w.mostEntries, x.EntriesSent)
	}
	k := float64(len(f.nodes))
	w.dials, w.tieLosses, w.entries = w.dials/k, w.tieLosses/k, w.entries/k
	return w
}

// convergence of one size over its rounds: peerweave's and the raw mesh's
// times, sorted, and the cost and work of the last round.
type convergeResult struct {
	took, raw []time.Duration
	cost      remoteCost
	work      work
}

// convergeRounds measures rounds convergences of size nodes on t, each after
// a raw mesh of the same size, so that a change in the machine's load hits
// both alike.
func convergeRounds(cfg config, t transport, size, rounds int) (convergeResult, error) {
	var r convergeResult
	for range rounds {
		raw, err := bench.RawMesh(t.network(), size, convergeLimit)
		if err != nil {
			return r, err
		}
		runtime.GC() // so that the fleet does not pay for the raw mesh's garbage
		took, cost, w, err := converge(cfg, t, size)
		if err != nil {
			return r, err
		}
		r.took, r.raw = append(r.took, took), append(r.raw, raw)
		r.cost, r.work = cost, w
	}
	return r, nil
}

// rows are the convergence row, against the raw mesh, and the join work row.
func (r convergeResult) rows(what string, size int) []row {
	took, raw := sorted(r.took), sorted(r.raw)
	node, base := bench.Percentile(took, 50), bench.Percentile(raw, 50)
	measured := fmtDur(node)
	if len(took) > 1 {
		measured += fmt.Sprintf(" (%s to %s)", fmtDur(took[0]), fmtDur(took[len(took)-1]))
	}
	others := float64(size - 1)
	return []row{{
		what:     what,
		measured: measured,
		baseline: fmt.Sprintf("raw mesh, every pair dialled once, a %d-byte hello each way, %d dials per node at once: %s",
			bench.HelloSize, bench.MeshDials, fmtDur(base)),
		ratio: fmtRatio(float64(node) / float64(base)),
	}, {
		what: fmt.Sprintf("Join work per node, %d nodes", size),
		measured: fmt.Sprintf("%.1f dials, %.1f lost tie-breaks, %.1f peer-list entries sent (most by one node: %s)",
			r.work.dials, r.work.tieLosses, r.work.entries, group(r.work.mostEntries)),
		baseline: fmt.Sprintf("other nodes: %s; goal: linear in them", group(int64(size-1))),
		ratio:    fmt.Sprintf("entries ÷ others: %s", fmtRatio(r.work.entries/others)),
	}}
}

// costRow is the memory of each connected remote.
func (r convergeResult) costRow(cfg config, size int) row {
	return row{
		what: fmt.Sprintf("Memory per connected remote, %s, %d-node mesh (%s remotes)",
			cfg.stackName(), size, group(int64(size*(size-1)))),
		measured: fmt.Sprintf("%s heap + %s goroutine stacks = %s, %.1f goroutines", fmtBytes(r.cost.heap),
			fmtBytes(r.cost.stacks), fmtBytes(r.cost.heap+r.cost.stacks), r.cost.goroutines),
		baseline: "goal: 8.0 KiB, 1 goroutine",
		ratio:    fmtRatio((r.cost.heap + r.cost.stacks) / (8 << 10)),
	}
}

func sorted(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return s
}

// memPerRemote is what the scale section reckons a remote of an in-memory
// mesh takes, with room to spare, to tell in advance whether one fits.
const memPerRemote = 32 << 10

// scale measures one large mesh (-scale-n) on the in-memory transport, where
// file descriptors do not bound it, once, next to its raw mesh, unless the
// machine has too little memory for it.
func scale(cfg config) []row {
	t := transports["mem"]
	c := cfg
	c.transportName = "mem"
	size := cfg.scaleSize
	what := convergenceName(c, size, 1)
	need := uint64(size) * uint64(size-1) * memPerRemote
	if avail, known := availableMemory(); known && need > avail {
		return []row{{what: what, measured: fmt.Sprintf("skipped: needs about %s of memory, %s available",
			fmtBytes(float64(need)), fmtBytes(float64(avail))), baseline: "—", ratio: "—"}}
	}
	progress("convergence of %d nodes on mem...", size)
	r, err := convergeRounds(c, t, size, 1)
	if err != nil {
		return []row{failed(what, err)}
	}
	return append(r.rows(what, size), r.costRow(c, size))
}
