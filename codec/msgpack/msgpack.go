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
// (github.com/vmihailenco/msgpack/issues/401). So the decoder reads the whole
// frame first and walks it without decoding (see check), refusing it unless
// it holds exactly one value whose every length fits in the bytes that
// follow; only then does msgpack decode it. Every allocation is then bounded
// by the size of the frame, which the node bounds in turn.
package msgpack

import (
	"io"

	"github.com/peerweave/peerweave/cluster"
)

// Codec is the MessagePack codec. Its zero value is ready to use.
type Codec struct{}

// Name returns "msgpack", the name nodes compare in their handshake. It
// names the encoding described in the package documentation: a change that
// older nodes could not read would need another name.
func (Codec) Name() string { return "msgpack" }

// NewEncoder returns an encoder that writes each message to w in one Write.
func (Codec) NewEncoder(w io.Writer) cluster.Encoder { return newEncoder(w) }

// NewDecoder returns a decoder for frames that r returns one at a time,
// ending each with io.EOF, as a node's frame reader does: the decoder reads
// a frame to its end before it decodes it.
func (Codec) NewDecoder(r io.Reader) cluster.Decoder { return newDecoder(r) }
