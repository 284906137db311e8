package codectest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"

	"github.com/peerweave/peerweave/internal/wire"
)

// checkName requires a name that fits the preamble and does not change.
func (s *suite) checkName() error {
	n := s.codec.Name()
	if len(n) == 0 || len(n) > wire.MaxCodecName {
		return fmt.Errorf("Name() = %q, %d bytes: the preamble carries 1 to %d", n, len(n), wire.MaxCodecName)
	}
	if m := s.codec.Name(); m != n {
		return fmt.Errorf("Name() = %q, then %q: nodes compare names in the handshake", n, m)
	}
	return nil
}

// checkRoundTrip sends each sample twice on a fresh connection, since a
// stream codec encodes the first message of a type differently, and requires
// both frames to decode to what was sent.
func (s *suite) checkRoundTrip() error {
	var errs []error
	for _, m := range samples() {
		if err := s.roundTrip(m); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *suite) roundTrip(m sample) error {
	fs, err := s.encode(m.v, m.v)
	if err != nil {
		return err
	}
	for i, f := range fs {
		o, err := s.after(fs[:i], f)
		if err != nil {
			return err
		}
		if o.err != nil {
			return fmt.Errorf("Decode failed on %v: %w", f, o.err)
		}
		if err := same(m.v, o.v); err != nil {
			return fmt.Errorf("message %d of the connection: %w", i+1, err)
		}
	}
	return nil
}

// checkSequence sends every sample, three times over in a shuffled order, on
// one connection, and compares what was decoded only once all of it was: a
// decoder must not hand out memory that it reuses for later frames.
func (s *suite) checkSequence() error { return s.converse(interleaved(true)) }

// checkConcurrent runs connections of the codec at once, as a node does:
// under the race detector, this finds state that they share. It does not
// bound allocations, which are counted process-wide: connections that run
// at once would count each other's.
func (s *suite) checkConcurrent() error {
	unbounded := *s
	unbounded.allocBase = math.MaxUint64 / 2
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range 4 {
		wg.Go(func() {
			if err := unbounded.converse(interleaved(false)); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// converse sends seq on one connection, decodes it, then compares.
func (s *suite) converse(seq []sample) error {
	vs := make([]any, len(seq))
	for i, m := range seq {
		vs[i] = m.v
	}
	frames, err := s.encode(vs...)
	if err != nil {
		return err
	}
	outs, err := s.deliver(frames)
	if err != nil {
		return err
	}
	if n := len(outs) - 1; outs[n].err != nil {
		return fmt.Errorf("message %d (%s): Decode failed on %v: %w", n+1, seq[n].name, frames[n], outs[n].err)
	}
	var errs []error
	for i, m := range seq {
		if err := same(m.v, outs[i].v); err != nil {
			errs = append(errs, fmt.Errorf("message %d (%s), compared after the last was decoded: %w", i+1, m.name, err))
		}
	}
	return errors.Join(errs...)
}

// interleaved returns the samples three times over in a fixed shuffled
// order; with big, the largest sample once among them.
func interleaved(big bool) []sample {
	var seq []sample
	for _, m := range samples() {
		if m.name == "Peers/10000" {
			if big {
				seq = append(seq, m)
			}
			continue
		}
		seq = append(seq, m, m, m)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
	return seq
}

// same reports how got differs from want, both pointers to messages of one
// type. Like a node, it takes nil and empty slices alike.
func same(want, got any) error {
	w, g := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	var errs []error
	for i := range w.NumField() {
		wf, gf := normalize(w.Field(i)), normalize(g.Field(i))
		if !reflect.DeepEqual(wf, gf) {
			errs = append(errs, fmt.Errorf("%s.%s: sent %s, received %s", w.Type().Name(), w.Type().Field(i).Name, show(wf), show(gf)))
		}
	}
	return errors.Join(errs...)
}

// normalize returns v as an interface, nil if it is an empty slice.
func normalize(v reflect.Value) any {
	if v.Kind() == reflect.Slice && v.Len() == 0 {
		return nil
	}
	return v.Interface()
}

func show(v any) string {
	const most = 200
	s := fmt.Sprintf("%#v", v)
	if len(s) > most {
		s = s[:most] + "…"
	}
	return s
}
