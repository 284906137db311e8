// Package codectest checks a codec.Codec against everything a node relies
// on. A codec's tests run it in one line, and get a fuzz target in another:
//
//	func TestConformance(t *testing.T) { codectest.Run(t, mycodec.Codec{}) }
//	func FuzzDecode(f *testing.F)      { codectest.Fuzz(f, mycodec.Codec{}) }
//
// The suite drives the codec as a node does: one Encoder and one Decoder per
// connection, used for many messages of every type in turn. Append extends a
// buffer that holds a frame header, and what it appends is one frame body.
// Decode gets one whole frame body, in a buffer that the suite overwrites
// once Decode returns, as a node reads the next frame into it. What it
// requires, each a subtest of Run:
//
//   - Name: 1 to 64 bytes, the same each time. The preamble carries it, and
//     nodes refuse a peer whose codec has another name.
//   - RoundTrip: every message, with and without each optional field,
//     zero, and with 0, 1, 100 and 10,000 peer addresses, decodes to what
//     was sent, sent first on its connection and sent again. Append keeps
//     the bytes it appends to, and appends at least one: a node takes an
//     empty body for a missing message. A nil and an empty slice may each
//     come back as either, as a node only looks at their length; anything
//     else must come back as it was, an empty string in a list included,
//     and must not alias the body it was decoded from.
//   - Sequence: all of them in a shuffled order on one connection. Decoded
//     values are compared once the last is decoded, so a decoder must not
//     hand out memory it reuses for later frames.
//   - Concurrent: connections of one Codec run at once, so they share no
//     unguarded state (run the suite with -race).
//   - Truncated: Decode fails on every proper prefix of a frame, the empty
//     one too.
//   - TrailingBytes: Decode fails on a frame with bytes after its message.
//   - Garbage: Decode fails on what other protocols send and on runs of one
//     byte, and survives random input.
//   - OtherType: Decode fails on a message of one type decoded as another,
//     unless the two share a field name: a codec that matches fields by
//     name, as gob does, may take one for the other and fill those fields.
//     A node does not rely on this (the frame kind says what a body holds,
//     and the node checks what it decodes), but a codec that takes anything
//     for anything is lax.
//   - HugeClaims: a tiny frame that claims a huge length (2^32 elements or
//     bytes, in every place that a message holds a length) costs no more
//     than a tiny frame.
//   - Values, for a codec that implements codec.Values: values of several
//     kinds (a struct with nested fields, a string, an integer, a slice, a
//     map) come back as they were, each encoding on its own, and do not
//     alias it; a func and a channel cannot be encoded; an encoding does
//     not decode into a type it does not fit; a truncated encoding, or one
//     with a byte after it, fails to decode.
//
// Every Decode the suite makes must also return rather than panic, within
// ten seconds (or the test binary crashes, naming the frame), and, but in
// Concurrent, allocate at most 256 KiB plus 32 bytes per byte of the frame:
// what a frame holds, not what it claims. AllowAlloc raises the 256 KiB for
// a codec that cannot do better, such as gob.
//
// Run the suite with -race, and fuzz the decoder with
// go test -run='^$' -fuzz='^FuzzDecode$' ./mycodec. Run once with
// -codectest.writeseeds, the fuzz target writes its seed corpus to
// testdata/fuzz/FuzzDecode/.
//
// The package example is a codec written by hand, with no reflection, that
// meets all of it.
package codectest
