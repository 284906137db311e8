package cluster

import "github.com/peerweave/peerweave/codec"

// Codec encodes the control messages nodes exchange: hellos, proofs, peer
// lists and rejections. It is defined in package codec, so that codecs need not import
// this package; see there for the contract an implementation must meet. New
// uses codec/gob.
type Codec = codec.Codec

// Encoder encodes the control messages of one connection; see package codec.
type Encoder = codec.Encoder

// Decoder decodes the control messages of one connection; see package codec.
type Decoder = codec.Decoder
