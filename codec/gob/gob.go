// Package gob is the encoding/gob codec, the one cluster.New uses. Each
// connection gets its own gob stream, so type information crosses the wire
// once per connection.
package gob

import (
	"encoding/gob"
	"io"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// Codec is the gob codec. Its zero value is ready to use.
type Codec struct{}

// Name returns "gob", the name nodes compare in their handshake.
func (Codec) Name() string { return "gob" }

// NewEncoder returns a gob encoder writing to w.
func (Codec) NewEncoder(w io.Writer) cluster.Encoder { return gob.NewEncoder(w) }

// NewDecoder returns a gob decoder for the frames r returns. Each frame is
// read whole and refused if its gob messages claim more bytes than it
// holds, before encoding/gob would set the claimed memory aside.
func (Codec) NewDecoder(r io.Reader) cluster.Decoder { return wire.NewGobDecoder(r) }
