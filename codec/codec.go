// Package codec defines what a codec is to a cluster node: the Codec,
// Encoder and Decoder interfaces, and the control messages a codec encodes.
// It is a leaf, importing only the standard library: the cluster package
// re-exports the interfaces as cluster.Codec, cluster.Encoder and
// cluster.Decoder, and codecs (codec/gob, codec/msgpack or your own)
// implement them without importing the cluster package.
//
// A node frames every message itself; a codec only turns a control message
// into a frame body and a frame body back into a message. Message payloads
// never pass through a codec: they travel as the bytes they are. The
// messages are plain structs with exported fields of type string, bool,
// unsigned integer, []byte and []string, so a codec may use reflection
// (encoding/gob, MessagePack) or a type switch over the five of them.
//
// The codec/codectest package checks an implementation against everything
// a node relies on.
package codec

// Codec encodes the control messages that nodes exchange: Hello, Auth,
// Peers, Reject and TagsUpdate. Every node of a cluster must use the same
// codec: the handshake compares names and refuses a peer whose codec has
// another.
//
// A node makes one Encoder and one Decoder per connection and uses them for
// every control message on it, one message at a time, so that a stream
// codec may send its type information once per connection rather than with
// every message (at the price of the state it keeps for the connection's
// life: codec/gob makes each message stand alone instead). The encoders and
// decoders of different connections run at the same time.
type Codec interface {
	// Name identifies the codec in the handshake: 1 to 64 bytes, the same
	// every time. It names an encoding: a change that nodes using the
	// old one could not read needs a new name.
	Name() string
	// NewEncoder returns the encoder for one new connection.
	NewEncoder() Encoder
	// NewDecoder returns the decoder for one new connection.
	NewDecoder() Decoder
}

// Encoder encodes the control messages that one connection sends, in order.
type Encoder interface {
	// Append appends the encoding of v, one whole frame body, to b and
	// returns the extended slice. v is always a pointer to a Hello, Auth,
	// Peers, Reject or TagsUpdate. The encoding is at least one byte long:
	// a node takes an empty body for a missing message. Append must not
	// keep b.
	// If it fails, the node discards the slice it returned and keeps b as
	// it was.
	Append(b []byte, v any) ([]byte, error)
}

// Decoder decodes the control messages that one connection receives, in
// order.
type Decoder interface {
	// Decode decodes body, exactly one whole frame body, into v. v is
	// always a pointer to the zero value of a Hello, Auth, Peers, Reject
	// or TagsUpdate: the type that the frame's kind says the body holds.
	//
	// Anyone who can connect to a node can send it anything, so Decode
	// must return an error, never panic or hang, on malformed input: a
	// body cut short, bytes after the value, garbage, a message of another
	// type (unless the two types share a field name, which a codec that
	// matches fields by name cannot tell apart). What it allocates must be
	// bounded by len(body), not by the lengths the body claims.
	//
	// body is the node's read buffer, which it reuses for the next frame:
	// Decode must not retain body after it returns, and the decoded value
	// must not alias it.
	Decode(body []byte, v any) error
}

// Hello introduces a node. Each side of a connection sends one.
type Hello struct {
	// Addr is the sender's listen address, "ip:port". An unspecified IP
	// (0.0.0.0 or ::) is replaced by the address the connection came from.
	Addr string
	// Nonce is random, fixed for the life of the sending node: it tells a
	// node that it dialled itself, and tells a restarted node from the old one.
	Nonce []byte
	// Join is set by a dialler that joins on its own behalf (Add, reconnect)
	// rather than because a peer list named the acceptor. An acceptor
	// refuses a peer-list dial from a node instance that said goodbye to it.
	Join bool
	// Redial is set, with Join, by a dialler that reconnects to a node it
	// lost rather than one that Add names. An acceptor refuses a redial
	// from a node instance that it said goodbye to or was told goodbye by.
	Redial bool
	// Challenge and Proof are sent empty and ignored: nodes that share a
	// secret prove it in Auth frames, inside TLS, before their hellos (see
	// the wire protocol). A codec still carries them, so that a hello that
	// has them stays decodable.
	Challenge []byte
	Proof     []byte
	// Name is the sender's node name, unique in its cluster; empty for a
	// node without one.
	Name string
	// Label names the sender's cluster; nodes whose labels differ refuse
	// each other. Empty for no label.
	Label string
	// Tags is the sender's metadata, keys and values in turn, sorted by
	// key.
	Tags []string
	// TagsVersion counts the changes of the sender's tags: a TagsUpdate
	// replaces them only if its Version is higher.
	TagsVersion uint64
}

// TagsUpdate carries a node's metadata after a change: every key and value,
// as in Hello.
type TagsUpdate struct {
	// Version counts the sender's changes of its tags; a receiver ignores
	// an update whose Version is not higher than the last it has.
	Version uint64
	// Tags is the sender's metadata, keys and values in turn, sorted by
	// key.
	Tags []string
}

// Auth carries one side's proof that it knows the shared secret: an HMAC
// bound to the connection's TLS session, as the wire protocol defines it.
type Auth struct {
	Proof []byte
}

// Peers lists the listen addresses of the remotes a node knows.
type Peers struct {
	Addrs []string
}

// RejectCode says why an acceptor refused a connection. The wire protocol
// defines its values; to a codec it is a number like any other.
type RejectCode uint8

// Reject tells a dialler why its connection is refused.
type Reject struct {
	// Code says why, for the dialler to act on.
	Code RejectCode
	// Reason says why in words, for logs.
	Reason string
}
