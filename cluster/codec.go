package cluster

import "io"

// Codec encodes the control messages nodes exchange: hellos, peer lists and
// rejections. Message payloads do not pass through it: they travel as the
// bytes they already are.
//
// A Codec hands out one Encoder and one Decoder per connection, so a stream
// codec such as encoding/gob sends its type information once per connection
// rather than once per message. Every node of a cluster must use the same
// codec; the handshake compares names and refuses a peer that differs.
//
// The values a codec sees are plain structs with exported fields of type
// string, bool, unsigned integer, []byte and []string. The codec/codectest
// package checks an implementation against everything the node relies on.
type Codec interface {
	// Name identifies the codec in the handshake, at most 64 bytes.
	Name() string
	// NewEncoder returns an encoder that writes to w. The node calls Encode
	// once per control message, with a pointer to the message.
	NewEncoder(w io.Writer) Encoder
	// NewDecoder returns a decoder that reads from r. The node gives it one
	// frame at a time: r returns io.EOF at the end of each frame, and it is
	// an io.ByteScanner, so the decoder needs no read-ahead buffer and must
	// not read past the value it decodes.
	NewDecoder(r io.Reader) Decoder
}

// Encoder writes values to the stream its Codec made it for.
type Encoder interface {
	Encode(v any) error
}

// Decoder reads values from the stream its Codec made it for. Decode must
// return an error, not panic, on malformed or truncated input.
type Decoder interface {
	Decode(v any) error
}
