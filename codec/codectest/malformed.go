package codectest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
)

// position is a frame and the frames a connection carried before it.
type position struct {
	prefix []frame
	f      frame
}

// positions returns v's frame as the first message of a connection and as
// the second, after one like it: a stream codec such as gob sends type
// information with the first message of a type only, and any decoder may
// keep state from one frame to the next.
func (s *suite) positions(v any) ([]position, error) {
	fs, err := s.encode(v, v)
	if err != nil {
		return nil, err
	}
	return []position{{nil, fs[0]}, {fs[:1], fs[1]}}, nil
}

// mangle runs try on every position of every message in ms, and returns the
// first failure at each position.
func (s *suite) mangle(ms []sample, try func(p position) error) error {
	var errs []error
	for _, m := range ms {
		ps, err := s.positions(m.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.name, err))
			continue
		}
		for i, p := range ps {
			if err := try(p); err != nil {
				errs = append(errs, fmt.Errorf("%s, message %d of the connection: %w", m.name, i+1, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkTruncated requires Decode to fail on every proper prefix of a frame,
// the empty one included.
func (s *suite) checkTruncated() error {
	return s.mangle(samples(), func(p position) error {
		for _, n := range cuts(len(p.f.body)) {
			cut := frame{body: p.f.body[:n], typ: p.f.typ}
			o, err := s.after(p.prefix, cut)
			if err != nil {
				return err
			}
			if o.err == nil {
				return fmt.Errorf("Decode accepted the first %d bytes of %v", n, p.f)
			}
		}
		return nil
	})
}

// cuts returns the lengths at which to cut an n-byte frame: all of them for
// a small frame; for a large one, where the cost adds up, the first and last
// few dozen and 16 in between.
func cuts(n int) []int {
	const small, edge, between = 512, 32, 16
	var c []int
	for i := range n {
		if n <= small || i < edge || i >= n-edge || i%(n/between) == 0 {
			c = append(c, i)
		}
	}
	return c
}

// checkTrailing requires Decode to fail on a frame with bytes after its
// message: a zero byte, or the message again.
func (s *suite) checkTrailing() error {
	return s.mangle(small(samples()), func(p position) error {
		for _, extra := range [][]byte{{0}, p.f.body} {
			long := frame{body: slices.Concat(p.f.body, extra), typ: p.f.typ}
			o, err := s.after(p.prefix, long)
			if err != nil {
				return err
			}
			if o.err == nil {
				return fmt.Errorf("Decode accepted %v, which has %d bytes after the message", long, len(extra))
			}
		}
		return nil
	})
}

// small returns the samples but the largest.
func small(ms []sample) []sample {
	return slices.DeleteFunc(ms, func(m sample) bool { return m.name == "Peers/10000" })
}

// garbage is input that is no encoding of a message, which Decode must
// refuse: what other protocols send first, and runs of one byte.
var garbage = [][]byte{
	[]byte("GET / HTTP/1.1\r\nHost: peerweave\r\n\r\n"),
	[]byte("SSH-2.0-OpenSSH_9.6\r\n"),
	[]byte("pwv\x01\x03gob"),
	bytes.Repeat([]byte{0}, 16),
	bytes.Repeat([]byte{0xff}, 16),
}

// checkGarbage requires Decode to refuse garbage as each message type, on a
// fresh connection and on one that carried a message of that type, and to
// survive random input: no panic, no hang, no allocation over the bound.
func (s *suite) checkGarbage() error {
	var errs []error
	for i, m := range full {
		fs, err := s.encode(m.v)
		if err != nil {
			return err
		}
		first := fs[0]
		prefixes := [][]frame{nil, fs}
		for _, g := range garbage {
			for _, prefix := range prefixes {
				f := frame{body: g, typ: first.typ}
				o, err := s.after(prefix, f)
				if err == nil && o.err == nil {
					err = fmt.Errorf("Decode accepted %v", f)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("garbage after %d messages: %w", len(prefix), err))
				}
			}
		}
		rng := rand.New(rand.NewPCG(3, uint64(i)))
		for j := range 500 {
			prefix := prefixes[j%2]
			if _, err := s.after(prefix, frame{body: random(rng), typ: first.typ}); err != nil {
				errs = append(errs, fmt.Errorf("random input after %d messages: %w", len(prefix), err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// random returns random bytes, mostly a few, sometimes a few thousand.
func random(rng *rand.Rand) []byte {
	n := 1 + rng.IntN(64)
	if rng.IntN(16) == 0 {
		n = rng.IntN(4096)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// checkOtherType requires Decode to refuse a message of one type as another,
// on a fresh connection and on one that carried both types. The exception is
// a pair of types that share a field name: a codec that matches fields by
// name, as gob does, may take one for the other and fill the shared fields.
// A node never relies on either: the frame kind says what a body holds, and
// the node checks every message it decodes.
func (s *suite) checkOtherType() error {
	var errs []error
	for _, a := range full {
		for _, b := range full {
			ta, tb := reflect.TypeOf(a.v).Elem(), reflect.TypeOf(b.v).Elem()
			if ta == tb {
				continue
			}
			if err := s.otherType(a.v, b.v, sharedField(ta, tb) == ""); err != nil {
				errs = append(errs, fmt.Errorf("%s as %s: %w", a.name, b.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// otherType decodes a's frames as b's type; strict requires Decode to fail.
func (s *suite) otherType(a, b any, strict bool) error {
	fs, err := s.encode(a, b, a)
	if err != nil {
		return err
	}
	as := fs[1].typ
	for _, p := range []position{{nil, fs[0]}, {fs[:2], fs[2]}} {
		f := frame{body: p.f.body, typ: as}
		o, err := s.after(p.prefix, f)
		if err != nil {
			return err
		}
		if strict && o.err == nil {
			return fmt.Errorf("Decode accepted a %s frame, message %d of the connection, as %s", p.f.typ.Name(), len(p.prefix)+1, show(o.v))
		}
	}
	return nil
}

// sharedField returns the name of a field that a and b both have, if any.
func sharedField(a, b reflect.Type) string {
	for f := range a.Fields() {
		if _, ok := b.FieldByName(f.Name); ok {
			return f.Name
		}
	}
	return ""
}
