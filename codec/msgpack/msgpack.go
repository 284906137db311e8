// Package msgpack is a MessagePack codec for cluster nodes, on
// github.com/vmihailenco/msgpack/v5: smaller frames than gob, no type
// information on the wire, and a decoder whose allocations are bounded by
// the size of the frame it decodes.
//
//	n, err := cluster.NewNode(addr, cluster.WithCodec(msgpack.Codec{}))
//
// # Encoding
//
// A message is a MessagePack map from field name to value, and fields that
// hold their zero value are left out. So, as with gob, fields are matched by
// name: reordering the fields of a wire message changes nothing, renaming
// one is a protocol change, and a new field can be added within a protocol
// version, since nodes that do not know it never see it while it is zero.
// Unlike gob, a node refuses a message that sets a field it does not know,
// rather than act on half of it; so it also refuses a message of one type
// where another is due, unless all the fields it sets are in both.
//
// Structs are not encoded as arrays, which would save the field names: a few
// dozen bytes per control message, of which a connection carries a handful.
// Arrays would make the order and the number of fields the wire format:
// msgpack/v5 refuses an array whose length is not the struct's field count,
// so adding any field would split a cluster in the middle of an upgrade, and
// swapping two fields of one type would silently swap their values.
//
// # Decoding
//
// msgpack/v5's own allocation limits do not bound what a frame can make the
// decoder allocate: v5.4.1 allocates a claimed byte-string length in full (a
// 12-byte frame can claim 4 GiB), sets aside up to a million strings for a
// claimed []string (16 MB), and never applies its limit to other slices
// (github.com/vmihailenco/msgpack/issues/401). So the decoder first walks
// the frame without decoding it (see check), refusing it unless it holds
// exactly one value whose every length fits in the bytes that follow; only
// then does msgpack decode it. Every allocation is then bounded
// by the size of the frame, which the node bounds in turn.
package msgpack

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/peerweave/peerweave/codec"
)

// Codec is the MessagePack codec. Its zero value is ready to use.
type Codec struct{}

// Name returns "msgpack", the name nodes compare in their handshake. It
// names the encoding described in the package documentation: a change that
// older nodes could not read would need another name.
func (Codec) Name() string { return "msgpack" }

// NewEncoder returns an encoder of the messages of one connection.
func (Codec) NewEncoder() codec.Encoder {
	e := &encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	// Zero fields are left out, so that nodes that do not know a field
	// never see it while it is unused.
	e.enc.SetOmitEmpty(true)
	// Integers take the fewest bytes that hold them; decoders read any
	// width.
	e.enc.UseCompactInts(true)
	return e
}

// NewDecoder returns a decoder of the messages of one connection.
func (Codec) NewDecoder() codec.Decoder { return &decoder{} }

// encoder has msgpack write to the slice that Append extends.
type encoder struct {
	enc *msgpack.Encoder
	buf appender // while Append runs, the slice it extends
}

func (e *encoder) Append(b []byte, v any) ([]byte, error) {
	e.buf = b
	err := e.enc.Encode(v)
	b, e.buf = e.buf, nil
	return b, err
}

// appender is a writer that appends to itself. msgpack writes a byte at a
// time, and WriteByte spares it a one-byte slice for each.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}

func (a *appender) WriteByte(c byte) error {
	*a = append(*a, c)
	return nil
}

// maxRetained is the largest frame after which a decoder keeps its msgpack
// decoder, whose buffer grows to the longest string of a frame: one grown by
// a long peer list is dropped rather than held for the life of the
// connection.
const maxRetained = 64 << 10

// decoder checks each frame and only then decodes it.
type decoder struct {
	frame bytes.Reader
	dec   *msgpack.Decoder // nil until the first frame, and after a large one
}

func (d *decoder) Decode(body []byte, v any) error {
	if err := check(body); err != nil {
		return err
	}
	if d.dec == nil {
		d.dec = msgpack.NewDecoder(&d.frame)
		// A message that sets a field this node does not know, or a
		// message of another type, is refused rather than half
		// understood.
		d.dec.DisallowUnknownFields(true)
	}
	d.frame.Reset(body)
	err := d.dec.Decode(v)
	d.frame.Reset(nil)
	if len(body) > maxRetained {
		d.dec = nil
	}
	return err
}
