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
		unbroken := s.from.gone == 0 && s.to.gone == 0 &&
			s.from.breaks[s.to.addr] == s.fromBreaks && s.to.breaks[s.from.addr] == s.toBreaks
		var what string
		switch {
		case w.got[id]:
			if unbroken {
				w.res.Checked++
			} else if w.partedLocked(s) != nil {
				w.res.Checked++
				w.res.CheckedLeave++
			}
		case unbroken:
			what = fmt.Sprintf("message %d, accepted by Send, never arrived, though the pair stayed connected", id.seq)
		default:
			if p := w.partedLocked(s); p != nil {
				what = fmt.Sprintf("message %d, accepted by Send, never arrived, though its sender left gracefully at %v with nothing in the way", id.seq, p.at)
			}
		}
		if what != "" && len(w.violations) < maxViolations {
			w.violations = append(w.violations, Violation{At: s.at, Node: s.from.String(), Pair: s.to.String(), What: what})
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

// partedLocked returns the graceful leave after which the message s must
// have arrived: its sender left the receiver gracefully after Send accepted
// it, that leave is the only change to the pair since, the receiver lives,
// and no fault slowed the pair from the Send until the leave had had its
// network timeout. A leave lets what is queued go out first. w.mu must be
// held.
func (w *world) partedLocked(s *sent) *parting {
	if s.to.gone != 0 || s.from.breaks[s.to.addr] != s.fromBreaks+1 || s.to.breaks[s.from.addr] != s.toBreaks+1 {
		return nil
	}
	for i := range w.partings {
		p := &w.partings[i]
		if p.from != s.from || (p.to != "" && p.to != s.to.addr) || p.at <= s.accepted {
			continue
		}
		for _, nf := range w.history {
			if nf.during(s.at, p.at+w.s.Timeout) && nf.slows(s.from.slot, s.to.slot) {
				return nil
			}
		}
		return p
	}
	return nil
}
