// Package gob is the encoding/gob codec, the one cluster.New uses. Each
// connection gets its own gob stream, so type information crosses the wire
// once per connection, with the first message of each type.
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
	"bytes"
	"encoding/gob"
	"fmt"

	"github.com/peerweave/peerweave/codec"
)

// Codec is the gob codec. Its zero value is ready to use.
type Codec struct{}

// Name returns "gob", the name nodes compare in their handshake.
func (Codec) Name() string { return "gob" }

// NewEncoder returns an encoder that starts a gob stream.
func (Codec) NewEncoder() codec.Encoder {
	e := &encoder{}
	e.enc = gob.NewEncoder(e)
	return e
}

// NewDecoder returns a decoder for a gob stream that arrives a frame at a
// time.
func (Codec) NewDecoder() codec.Decoder {
	d := &decoder{}
	d.dec = gob.NewDecoder(&d.frame)
	return d
}

// encoder is a gob stream that writes to the slice Append extends.
type encoder struct {
	enc *gob.Encoder
	buf []byte // while Append runs, the slice it extends
}

// Write is where the gob stream goes.
func (e *encoder) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	return len(p), nil
}

func (e *encoder) Append(b []byte, v any) ([]byte, error) {
	e.buf = b
	err := e.enc.Encode(v)
	b, e.buf = e.buf, nil
	return b, err
}

// decoder is a gob stream that reads one frame at a time.
type decoder struct {
	dec *gob.Decoder
	// frame is the frame being decoded. As an io.ByteReader, it is read
	// directly, with no read-ahead buffer in between.
	frame bytes.Reader
}

func (d *decoder) Decode(body []byte, v any) error {
	if err := check(body); err != nil {
		return err
	}
	d.frame.Reset(body)
	defer d.frame.Reset(nil)
	if err := d.dec.Decode(v); err != nil {
		return err
	}
	if n := d.frame.Len(); n != 0 {
		return fmt.Errorf("gob: %d bytes after the value", n)
	}
	return nil
}
