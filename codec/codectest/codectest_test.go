package codectest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	vmihailenco "github.com/vmihailenco/msgpack/v5"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/msgpack"
)

// good is a codec that passes the suite; the broken ones below are it with
// one flaw each.
var good = msgpack.Codec{}

// parts is a codec put together from an encoder and a decoder.
type parts struct {
	name string
	enc  func() codec.Encoder
	dec  func() codec.Decoder
}

func (c parts) Name() string              { return c.name }
func (c parts) NewEncoder() codec.Encoder { return c.enc() }
func (c parts) NewDecoder() codec.Decoder { return c.dec() }

type appendFunc func(b []byte, v any) ([]byte, error)

func (f appendFunc) Append(b []byte, v any) ([]byte, error) { return f(b, v) }

type decodeFunc func(body []byte, v any) error

func (f decodeFunc) Decode(body []byte, v any) error { return f(body, v) }

// withEncoder returns good with its encoder wrapped by wrap.
func withEncoder(wrap func(enc codec.Encoder) appendFunc) parts {
	return parts{name: "broken", dec: good.NewDecoder, enc: func() codec.Encoder { return wrap(good.NewEncoder()) }}
}

// withDecoder returns good with its decoder wrapped by wrap.
func withDecoder(wrap func(dec codec.Decoder) decodeFunc) parts {
	return parts{name: "broken", enc: good.NewEncoder, dec: func() codec.Decoder { return wrap(good.NewDecoder()) }}
}

// lax decodes with plain msgpack/v5: no frame check, unknown fields and
// trailing bytes ignored.
var lax = withDecoder(func(codec.Decoder) decodeFunc { return vmihailenco.Unmarshal })

var sink []byte

func TestChecksFindFlaws(t *testing.T) {
	cases := []struct {
		flaw  string
		codec codec.Codec
		check string
		want  string
	}{
		{"no name", parts{name: "", enc: good.NewEncoder, dec: good.NewDecoder}, "Name", "0 bytes"},
		{"long name", parts{name: strings.Repeat("x", 65), enc: good.NewEncoder, dec: good.NewDecoder}, "Name", "65 bytes"},
		{"encoder appends nothing", withEncoder(func(codec.Encoder) appendFunc {
			return func(b []byte, _ any) ([]byte, error) { return b, nil }
		}), "RoundTrip", "appended nothing"},
		{"encoder overwrites", withEncoder(func(enc codec.Encoder) appendFunc {
			return func(b []byte, v any) ([]byte, error) { return enc.Append(b[:0], v) }
		}), "RoundTrip", "changed the bytes it appends to"},
		{"decoder aliases the body", withDecoder(func(dec codec.Decoder) decodeFunc {
			return func(body []byte, v any) error {
				err := dec.Decode(body, v)
				if h, ok := v.(*codec.Hello); ok {
					if i := bytes.Index(body, h.Nonce); len(h.Nonce) > 0 && i >= 0 {
						h.Nonce = body[i : i+len(h.Nonce)]
					}
				}
				return err
			}
		}), "RoundTrip", "Hello.Nonce: sent"},
		{"decoder reuses memory", withDecoder(func(dec codec.Decoder) decodeFunc {
			var scratch []byte
			return func(body []byte, v any) error {
				err := dec.Decode(body, v)
				if h, ok := v.(*codec.Hello); ok {
					scratch = append(scratch[:0], h.Nonce...)
					h.Nonce = scratch
				}
				return err
			}
		}), "Sequence", "compared after the last was decoded"},
		{"decoder panics", withDecoder(func(dec codec.Decoder) decodeFunc {
			return func(body []byte, v any) error {
				if len(body) > 0 && body[0] == 0xff {
					panic("boom")
				}
				return dec.Decode(body, v)
			}
		}), "Garbage", "Decode panicked on 16-byte Hello frame ffff"},
		{"decoder swallows errors", withDecoder(func(dec codec.Decoder) decodeFunc {
			return func(body []byte, v any) error {
				dec.Decode(body, v)
				return nil
			}
		}), "Truncated", "Decode accepted the first 0 bytes"},
		{"decoder ignores trailing bytes", lax, "TrailingBytes", "1 bytes after the message"},
		{"decoder takes any type", lax, "OtherType", "Peers as Hello: Decode accepted a Peers frame"},
		{"decoder believes claims", lax, "HugeClaims", "Decode allocated"},
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
	greedy := withDecoder(func(dec codec.Decoder) decodeFunc {
		return func(body []byte, v any) error {
			sink = make([]byte, 1<<20)
			return dec.Decode(body, v)
		}
	})
	require.ErrorContains(t, runCheck(t, "RoundTrip", greedy), "Decode allocated")
	require.NoError(t, runCheck(t, "RoundTrip", greedy, AllowAlloc(2<<20)))
}

func runCheck(t *testing.T, name string, c codec.Codec, opts ...Option) error {
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
	assert.Equal(t, []frame{{body: []byte{0x80}, typ: messageTypes[1]}}, parseInput([]byte{byte(len(messageTypes) + 1), 0x80}),
		"a length cut short is the body")
}
