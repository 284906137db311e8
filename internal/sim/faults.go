package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/peerweave/peerweave/transport/fault"
)

// How the faults of a schedule act on the run: each Fault becomes what
// starts it and what ends it, and the faults that last are kept in a
// history for the checks.

// netFault is a fault that lasts, as it was in force: a partition, cut or
// black hole, which the network applies, or a slow link or paused reader,
// which the checks need to know of.
type netFault struct {
	f          Fault
	start, end time.Duration // end is 0 while in force
}

// separates reports whether the fault keeps slots a and b apart, in either
// direction.
func (nf *netFault) separates(a, b int) bool {
	switch nf.f.Kind {
	case Partition:
		return slices.Contains(nf.f.Group, a) != slices.Contains(nf.f.Group, b)
	case Cut, Blackhole:
		return nf.pair(a, b)
	}
	return false
}

// slows reports whether the fault separates slots a and b or slows what
// goes between them: a slow link, or a reader that does not read.
func (nf *netFault) slows(a, b int) bool {
	switch nf.f.Kind {
	case Slow:
		return nf.pair(a, b)
	case Pause:
		return nf.f.A == a || nf.f.A == b
	}
	return nf.separates(a, b)
}

func (nf *netFault) pair(a, b int) bool {
	return (nf.f.A == a && nf.f.B == b) || (nf.f.A == b && nf.f.B == a)
}

// during reports whether the fault was in force at some time in [from, to].
func (nf *netFault) during(from, to time.Duration) bool {
	return nf.start <= to && (nf.end == 0 || nf.end >= from)
}

// record adds a fault that starts now to the history, and returns what to
// call when it ends.
func (w *world) record(f Fault) (end func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	nf := &netFault{f: f, start: w.now()}
	w.history = append(w.history, nf)
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		nf.end = w.now()
	}
}

// parting is a graceful leave that the harness started: from closed its
// remote at to, or all of them if to is "".
type parting struct {
	from *instance
	to   string
	at   time.Duration
}

// reapply puts the network faults in force on the nodes that now hold their
// slots, after one of them started or ended.
func (w *world) reapply() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fn.Heal()
	addr := func(slot int) (string, bool) {
		if slot >= len(w.slots) || w.slots[slot] == nil {
			return "", false
		}
		return w.slots[slot].addr, true
	}
	for _, nf := range w.active {
		f := nf.f
		switch f.Kind {
		case Partition:
			var in, out []string
			for slot := range w.slots {
				if a, ok := addr(slot); ok {
					if slices.Contains(f.Group, slot) {
						in = append(in, a)
					} else {
						out = append(out, a)
					}
				}
			}
			w.fn.Partition(in, out)
		case Cut, Blackhole:
			a, okA := addr(f.A)
			b, okB := addr(f.B)
			if !okA || !okB {
				continue
			}
			if f.Kind == Cut {
				w.fn.Cut(b, a)
			} else {
				w.fn.Blackhole(a, b)
			}
		}
	}
}

// fault returns what starts a fault and what ends it (nil if nothing
// does).
func (w *world) fault(f Fault) (start, end func()) {
	switch f.Kind {
	case Partition, Cut, Blackhole:
		nf := &netFault{f: f}
		return func() {
				w.mu.Lock()
				nf.start = w.now()
				w.active = append(w.active, nf)
				w.history = append(w.history, nf)
				w.mu.Unlock()
				w.reapply()
			}, func() {
				w.mu.Lock()
				nf.end = w.now()
				w.active = slices.DeleteFunc(w.active, func(x *netFault) bool { return x == nf })
				w.mu.Unlock()
				w.reapply()
			}
	case Slow:
		var a, b string
		var ended func()
		return func() {
				ia, ib := w.at(f.A), w.at(f.B)
				if ia == nil || ib == nil {
					return
				}
				a, b = ia.addr, ib.addr
				ended = w.record(f)
				w.fn.Shape(a, b, f.Link)
				w.fn.Shape(b, a, f.Link)
			}, func() {
				if a != "" {
					w.fn.Shape(a, b, fault.Link{})
					w.fn.Shape(b, a, fault.Link{})
					ended()
				}
			}
	case Crash:
		crashed := false
		return func() {
				in := w.at(f.A)
				if in == nil {
					return
				}
				crashed = true
				w.vacate(in)
				in.tr.Crash()
				w.bg.Go(in.node.Close)
			}, func() {
				if !crashed || f.Restart == Never {
					return
				}
				w.mu.Lock()
				if f.Restart != SameAddr {
					w.gens[f.A]++
				}
				if f.Restart == NewNode {
					w.names[f.A]++
				}
				w.mu.Unlock()
				w.launch(f.A, w.seedFor(f.A))
			}
	case Leave:
		left := false
		return func() {
				in := w.at(f.A)
				if in == nil {
					return
				}
				left = true
				w.mu.Lock()
				w.partings = append(w.partings, parting{from: in, at: w.now()})
				w.mu.Unlock()
				w.vacate(in)
				w.bg.Go(in.node.Close)
			}, func() {
				if !left {
					return
				}
				w.mu.Lock()
				w.gens[f.A]++
				w.names[f.A]++
				w.mu.Unlock()
				w.launch(f.A, w.seedFor(f.A))
			}
	case CloseRemote:
		return func() {
			a, b := w.at(f.A), w.at(f.B)
			if a == nil || b == nil {
				return
			}
			w.mu.Lock()
			w.apart[pairKey(a.addr, b.addr)] = true
			w.partings = append(w.partings, parting{from: a, to: b.addr, at: w.now()})
			w.mu.Unlock()
			w.bg.Go(func() { a.node.CloseRemote(b.remote()) })
		}, nil
	case Join:
		return func() {
			if w.at(f.A) != nil {
				return
			}
			seed := f.B
			if w.at(seed) == nil {
				seed = w.seedFor(f.A)
			}
			w.launch(f.A, seed)
		}, nil
	case Rotate:
		return w.rotate, nil
	case Pause:
		return func() {
			if in := w.at(f.A); in != nil {
				time.AfterFunc(f.For, w.record(f))
				w.mu.Lock()
				in.pauseUntil = time.Now().Add(f.For)
				w.mu.Unlock()
			}
		}, nil
	}
	panic(fmt.Sprintf("sim: unknown fault kind %d", f.Kind))
}

// seedFor returns the slot a node in slot joins through: the lowest other
// slot with a live node.
func (w *world) seedFor(slot int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for s, in := range w.slots {
		if s != slot && in != nil {
			return s
		}
	}
	return -1
}

// rotate moves every live node to a new secret in the three rounds of the
// manual, each on every node before the next starts. A node that starts
// meanwhile takes the keyring of the round under way.
func (w *world) rotate() {
	w.mu.Lock()
	old := secret(w.rotations)
	w.rotations++
	next := secret(w.rotations)
	w.mu.Unlock()
	for _, ring := range [][][]byte{{old, next}, {next, old}, {next}} {
		w.mu.Lock()
		w.keyring = ring
		w.mu.Unlock()
		for _, in := range w.live() {
			if err := in.node.SetSecrets(ring[0], ring[1:]...); err != nil {
				w.fail(in.String(), "-", "SetSecrets: %v", err)
			}
		}
	}
}

// vacate takes a node out of its slot: it crashes or leaves now.
func (w *world) vacate(in *instance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.slots[in.slot] = nil
	in.gone = w.now()
	close(in.quit)
}
