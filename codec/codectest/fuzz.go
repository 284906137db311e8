package codectest

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerweave/peerweave/codec"
)

var writeSeeds = flag.Bool("codectest.writeseeds", false,
	"make each codectest.Fuzz target write its seed inputs to testdata/fuzz/<target>/")

// Fuzz makes f a fuzz target for c's decoder. Each input is a connection:
// frames that a decoder reads in turn, each as one of the wire messages, as
// a node would until it refuses one. The target fails if a Decode panics,
// does not return, or allocates more than Run allows.
//
// An input is a sequence of frames, each a byte that picks the message type,
// the body's length as a uvarint, then the body. A length beyond the end of
// the input takes what is left, and so does a length cut short, with it. Fuzz seeds the target with valid
// connections, each message alone, cut short and taken for another type. Run
// the target once with -codectest.writeseeds to write those seeds to
// testdata/fuzz/<target>/ as a corpus that stays when the codec changes.
func Fuzz(f *testing.F, c codec.Codec, opts ...Option) {
	s := newSuite(c, opts)
	seeds, err := s.seeds()
	if err != nil {
		f.Fatal(err)
	}
	if *writeSeeds {
		if err := writeCorpus(filepath.Join("testdata", "fuzz", f.Name()), seeds); err != nil {
			f.Fatal(err)
		}
	}
	for _, sd := range seeds {
		f.Add(sd.input)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		if _, err := s.deliver(parseInput(input)); err != nil {
			t.Fatal(err)
		}
	})
}

// parseInput splits a fuzz input into frames.
func parseInput(in []byte) []frame {
	var fs []frame
	for len(in) > 0 {
		typ := messageTypes[int(in[0])%len(messageTypes)]
		in = in[1:]
		n, k := binary.Uvarint(in)
		if k <= 0 {
			return append(fs, frame{body: in, typ: typ})
		}
		in = in[k:]
		if n > uint64(len(in)) {
			return append(fs, frame{body: in, typ: typ})
		}
		fs = append(fs, frame{body: in[:n:n], typ: typ})
		in = in[n:]
	}
	return fs
}

// appendInput appends frames to a fuzz input.
func appendInput(in []byte, fs ...frame) []byte {
	for _, f := range fs {
		i := 0
		for messageTypes[i] != f.typ {
			i++
		}
		in = append(in, byte(i))
		in = binary.AppendUvarint(in, uint64(len(f.body)))
		in = append(in, f.body...)
	}
	return in
}

// seed is a fuzz input with a name for its corpus file.
type seed struct {
	name  string
	input []byte
}

// seeds returns inputs of a few hundred bytes at most, as the fuzzer
// minimizes what it finds bigger slowly: each message but the peer lists of
// 100 and 10,000 and the hello with 16 KiB of tags as a connection of its
// own, whole, cut in half and without its last byte; each message of every
// type taken for every other type, first on its connection and second; and
// one connection with a message of each type, then each again.
func (s *suite) seeds() ([]seed, error) {
	var seeds []seed
	for _, m := range samples() {
		if strings.HasPrefix(m.name, "Peers/100") || strings.HasSuffix(m.name, "KiB-tags") {
			continue
		}
		fs, err := s.encode(m.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		in := appendInput(nil, fs[0])
		name := strings.ReplaceAll(m.name, "/", "-")
		seeds = append(seeds, seed{name, in}, seed{name + "-half", in[:len(in)/2]}, seed{name + "-short", in[:len(in)-1]})
	}
	for _, m := range full {
		fs, err := s.encode(m.v, m.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		for _, t := range messageTypes {
			if t == fs[0].typ {
				continue
			}
			first := frame{body: fs[0].body, typ: t}
			second := frame{body: fs[1].body, typ: t}
			seeds = append(seeds,
				seed{m.name + "-as-" + t.Name(), appendInput(nil, first)},
				seed{m.name + "-then-as-" + t.Name(), appendInput(nil, fs[0], second)})
		}
	}
	var vs []any
	for _, m := range slices.Concat(compact, full) {
		vs = append(vs, m.v)
	}
	fs, err := s.encode(vs...)
	if err != nil {
		return nil, err
	}
	return append(seeds, seed{"connection", appendInput(nil, fs...)}), nil
}

// writeCorpus replaces the seed files in dir with seeds.
func writeCorpus(dir string, seeds []seed) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "seed-*"))
	if err != nil {
		return err
	}
	for _, name := range old {
		if err := os.Remove(name); err != nil {
			return err
		}
	}
	for _, sd := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", sd.input)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+sd.name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
