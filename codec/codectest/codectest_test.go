package codectest

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	vmihailenco "github.com/vmihailenco/msgpack/v5"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/wire"
)

// good is a codec that passes the suite; the broken ones below are it with
// one flaw each.
var good = msgpack.Codec{}

type codec struct {
	name string
	enc  func(w io.Writer) cluster.Encoder
	dec  func(r io.Reader) cluster.Decoder
}

func (c codec) Name() string                           { return c.name }
func (c codec) NewEncoder(w io.Writer) cluster.Encoder { return c.enc(w) }
func (c codec) NewDecoder(r io.Reader) cluster.Decoder { return c.dec(r) }

type encodeFunc func(any) error

func (f encodeFunc) Encode(v any) error { return f(v) }

type decodeFunc func(any) error

func (f decodeFunc) Decode(v any) error { return f(v) }

// withDecoder returns good with its decoder wrapped by wrap.
func withDecoder(wrap func(r io.Reader, dec cluster.Decoder) decodeFunc) codec {
	return codec{name: "broken", enc: good.NewEncoder, dec: func(r io.Reader) cluster.Decoder {
		return wrap(r, good.NewDecoder(r))
	}}
}

// laxDecoder is a plain msgpack/v5 decoder: no frame check, unknown fields
// skipped.
func laxDecoder(r io.Reader) cluster.Decoder { return vmihailenco.NewDecoder(r) }

var sink []byte

func TestChecksFindFlaws(t *testing.T) {
	cases := []struct {
		flaw  string
		codec codec
		check string
		want  string
	}{
		{"no name", codec{name: "", enc: good.NewEncoder, dec: good.NewDecoder}, "Name", "0 bytes"},
		{"long name", codec{name: strings.Repeat("x", 65), enc: good.NewEncoder, dec: good.NewDecoder}, "Name", "65 bytes"},
		{"encoder writes nothing", codec{name: "broken",
			enc: func(io.Writer) cluster.Encoder { return encodeFunc(func(any) error { return nil }) },
			dec: good.NewDecoder}, "RoundTrip", "wrote nothing"},
		{"decoder leaves bytes", codec{name: "broken",
			enc: func(w io.Writer) cluster.Encoder {
				enc := good.NewEncoder(w)
				return encodeFunc(func(v any) error {
					if err := enc.Encode(v); err != nil {
						return err
					}
					_, err := w.Write([]byte{0xc0})
					return err
				})
			},
			dec: laxDecoder}, "RoundTrip", "Decode left 1 bytes"},
		{"decoder reuses memory", withDecoder(func(_ io.Reader, dec cluster.Decoder) decodeFunc {
			var scratch []byte
			return func(v any) error {
				err := dec.Decode(v)
				if h, ok := v.(*wire.Hello); ok {
					scratch = append(scratch[:0], h.Nonce...)
					h.Nonce = scratch
				}
				return err
			}
		}), "Sequence", "compared after the last was decoded"},
		{"decoder panics", withDecoder(func(r io.Reader, dec cluster.Decoder) decodeFunc {
			s := r.(io.ByteScanner)
			return func(v any) error {
				if b, err := s.ReadByte(); err == nil {
					if b == 0xff {
						panic("boom")
					}
					s.UnreadByte()
				}
				return dec.Decode(v)
			}
		}), "Garbage", "Decode panicked on 16-byte Hello frame ffff"},
		{"decoder swallows errors", withDecoder(func(_ io.Reader, dec cluster.Decoder) decodeFunc {
			return func(v any) error {
				dec.Decode(v)
				return nil
			}
		}), "Truncated", "Decode accepted the first 0 bytes"},
		{"decoder takes any type", codec{name: "broken", enc: good.NewEncoder, dec: laxDecoder},
			"OtherType", "Peers as Hello: Decode accepted a Peers frame"},
		{"decoder believes claims", codec{name: "broken", enc: good.NewEncoder, dec: laxDecoder},
			"HugeClaims", "Decode allocated"},
	}
	for _, c := range cases {
		t.Run(c.flaw, func(t *testing.T) {
			err := runCheck(t, c.check, c.codec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestAllowAllocRaisesTheBound(t *testing.T) {
	greedy := withDecoder(func(_ io.Reader, dec cluster.Decoder) decodeFunc {
		return func(v any) error {
			sink = make([]byte, 1<<20)
			return dec.Decode(v)
		}
	})
	require.ErrorContains(t, runCheck(t, "RoundTrip", greedy), "Decode allocated")
	require.NoError(t, runCheck(t, "RoundTrip", greedy, AllowAlloc(2<<20)))
}

func runCheck(t *testing.T, name string, c cluster.Codec, opts ...Option) error {
	for _, ch := range checks {
		if ch.name == name {
			return ch.run(newSuite(c, opts))
		}
	}
	t.Fatalf("no check %q", name)
	return nil
}

func TestFuzzInputsSplitIntoFrames(t *testing.T) {
	hello := frame{body: []byte("hello"), typ: messageTypes[0]}
	auth := frame{body: []byte{}, typ: messageTypes[3]}
	in := appendInput(nil, hello, auth, hello)
	assert.Equal(t, []frame{hello, auth, hello}, parseInput(in))
	assert.Equal(t, []frame{{body: []byte("hel"), typ: messageTypes[0]}}, parseInput(in[:5]),
		"a length beyond the input takes what is left")
	assert.Equal(t, []frame{{body: []byte{0x80}, typ: messageTypes[1]}}, parseInput([]byte{5, 0x80}),
		"a length cut short is the body")
}
