package sim

import (
	"fmt"
	"maps"
	"slices"
)

// check verifies, once the cluster had time to converge after the last heal,
// that every live node knows every other (but the pairs a CloseRemote parted),
// that the callbacks add up to Remotes, that tags arrived, that every message
// Send accepted between nodes connected throughout arrived, and that no node
// redialled a graceful leaver.
func (w *world) check() {
	live := w.live()
	bound := w.s.Settle
	for _, in := range live {
		got := addrs(in.node.Remotes())
		w.mu.Lock()
		var want []string
		for _, o := range live {
			if o != in && !w.apart[pairKey(in.addr, o.addr)] {
				want = append(want, o.addr)
			}
		}
		slices.Sort(want)
		for _, a := range want {
			if !slices.Contains(got, a) {
				w.failLocked(in.String(), a, "not a remote %v after the last heal", bound)
			}
		}
		for _, a := range got {
			if o := w.byAddr[a]; o == nil || o.gone != 0 || w.slots[o.slot] != o {
				w.failLocked(in.String(), a, "still a remote %v after the node there went", bound)
			}
		}
		if ms := in.memberList(); !slices.Equal(ms, got) {
			w.failLocked(in.String(), "-", "Remotes is %v, the callbacks add up to %v", got, ms)
		}
		w.mu.Unlock()
		for _, o := range live {
			info, ok := in.node.Info(o.remote())
			if !ok {
				continue
			}
			w.mu.Lock()
			if o.tags != nil && !maps.Equal(info.Tags, o.tags) {
				w.failLocked(in.String(), o.String(), "tags %v, but the remote set %v", info.Tags, o.tags)
			}
			w.mu.Unlock()
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	ids := slices.Collect(maps.Keys(w.sent))
	slices.SortFunc(ids, func(a, b msgID) int {
		if a.from != b.from {
			return a.from - b.from
		}
		return int(a.seq) - int(b.seq)
	})
	for _, id := range ids {
		s := w.sent[id]
		if s.from.gone != 0 || s.to.gone != 0 ||
			s.from.breaks[s.to.addr] != s.fromBreaks || s.to.breaks[s.from.addr] != s.toBreaks {
			continue
		}
		if w.got[id] {
			w.res.Checked++
			continue
		}
		w.violations = append(w.violations, Violation{At: s.at, Node: s.from.String(), Pair: s.to.String(),
			What: fmt.Sprintf("message %d, accepted by Send, never arrived, though the pair stayed connected", id.seq)})
		if len(w.violations) >= maxViolations {
			break
		}
	}
	for _, l := range w.leaves {
		to := w.byAddr[l.to]
		if l.from.gone != 0 || (to != nil && to.started > l.at) {
			continue
		}
		if d := w.fn.Dials(l.from.addr, l.to); d != l.dials {
			w.failLocked(l.from.String(), l.to, "dialled %d times after a graceful leave at %v", d-l.dials, l.at)
		}
	}
}
