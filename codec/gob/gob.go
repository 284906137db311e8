// Package gob is the encoding/gob codec, the one cluster.New uses. Each
// control message is a gob stream of its own, its types' definitions and
// then the value, as each typed value is (see values.go): a connection keeps
// no gob state between frames, so an idle connection costs no compiled
// decoder, and the decoders that have read a stream's definitions are
// pooled for the whole process, so that a handshake, whose messages every
// node defines alike, compiles nothing after the first. The definitions cost
// a few dozen bytes per control message, of which a connection carries a
// handful.
//
// encoding/gob sets aside the length that a message claims, up to 10 MiB,
// before it reads the message, so a 4 KiB hello could cost 10 MiB. The
// decoder therefore refuses a frame whose gob messages claim more bytes than
// it holds (see check) before encoding/gob sees it.
//
// Codec also implements codec.Values, for the typed values of package
// cluster: each value is a gob stream of its own (see values.go).
package gob

import (
	"github.com/peerweave/peerweave/codec"
)

// Codec is the gob codec. Its zero value is ready to use.
type Codec struct{}

// Name returns "gob", the name nodes compare in their handshake.
func (Codec) Name() string { return "gob" }

// NewEncoder returns an encoder of control messages, each a gob stream of
// its own (see the package documentation).
func (Codec) NewEncoder() codec.Encoder { return encoder{} }

// NewDecoder returns a decoder of control messages, each a gob stream of its
// own.
func (Codec) NewDecoder() codec.Decoder { return decoder{} }

// encoder encodes each control message as Marshal encodes a value.
type encoder struct{}

func (encoder) Append(b []byte, v any) ([]byte, error) { return appendValue(b, v) }

// decoder decodes each control message as Unmarshal decodes a value.
type decoder struct{}

func (decoder) Decode(body []byte, v any) error { return Codec{}.Unmarshal(body, v) }
