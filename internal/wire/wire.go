// Package wire defines the peerweave wire protocol, version 3.
//
// A connection starts with a handshake and then carries frames in both
// directions until one side says goodbye or the connection breaks.
//
// # Handshake
//
// The dialler writes its preamble and a Hello frame. The acceptor reads them,
// then writes its own preamble, its Hello and a verdict: a Welcome frame, or a
// Reject frame and a close. Neither side sends its peer list or accepts data
// before the verdict.
//
// Nodes that share a secret run TLS 1.3 over the connection first, and the
// whole protocol inside it, and prove the secret before anything else: the
// dialler writes its preamble and an Auth frame; the acceptor reads them and
// writes its preamble and an Auth frame of its own if the dialler's proof
// holds, or a Reject (RejectAuth) and a close if not; the dialler checks the
// acceptor's proof and closes if it fails. Only then come the dialler's
// Hello and the acceptor's Hello and verdict, as above. A proof is Prove
// under ProofKey(secret) with the prover's role, the TLS session's exported
// keying material (ExporterLabel) and the preambles written so far: the
// dialler's for the dialler's proof, the dialler's then the acceptor's for
// the acceptor's. Hello's Challenge and Proof fields are not used.
//
// The preamble is:
//
//	"pwv" version:uint8 len:uint8 codec-name[len] min-version:uint8
//
// where version is the highest protocol version the sender speaks and
// min-version the lowest, and is the only part of the protocol that does not
// depend on the codec, so that two nodes built with different codecs or
// protocol versions can tell each other so before they try to decode
// anything.
//
// # Versions
//
// Each side reads the other's preamble and takes the highest version both
// ranges hold, so both pick the same without another round trip, and the
// connection speaks that version from the frame after the preamble on. The
// negotiated version gates what a side may send: a frame kind or a control
// message field that a version added goes only on connections of that
// version or later, and a receiver drops a connection that carries a frame
// of a kind its version does not have. A side that finds no version in common, or another
// codec, closes the connection; an acceptor first writes its own preamble,
// so that the dialler can tell why. The dialler's hello (with a secret, its
// Auth frame) goes out before it has read the acceptor's preamble, so it
// must stay what every version its range holds can decode: a later version
// carries what it adds in frames or in fields sent once the version is
// known, never in the dialler's hello (codec/msgpack refuses a field it does
// not know).
//
// Versions 2 and before had a preamble without min-version and spoke one
// version each, refusing every other: a preamble whose version is below 3
// has that layout and speaks that version only, and every preamble from
// version 3 on has the layout above, whatever version a later release
// speaks. So a node of version 2 reads a version 3 preamble as another
// version and refuses it with that reason, and a node of version 3 refuses
// a version 2 one the same way: those two do not interoperate.
//
// The promise from version 3 on: each release speaks the highest version of
// the release before it (its MinVersion is at most that release's Version),
// so a cluster upgrades one node at a time, one release at a time. Pairs of
// upgraded nodes speak the new version, mixed pairs the old one.
//
// Frame kinds 18 and 19 are reserved for the tests of package cluster,
// which make nodes of a later release, speaking version 4 and a frame of
// kind 18 on connections of that version, to show that releases
// interoperate; no release sends them.
//
// # Frames
//
// Every frame is
//
//	length:uint32 (big endian) kind:uint8 body[length-1]
//
// where length counts the kind byte and the body. A Data frame's body is the
// message payload as it is: a payload is already bytes, and running it through
// the codec would only copy it. Hello, Peers, Reject, Auth and Tags bodies
// (a TagsUpdate; see Identity) are encoded with the connection's codec (one
// encoder and one decoder per connection, so that a stream codec may send
// its type information once; gob's bodies each stand alone, definitions
// first). Ping, Pong, Bye, ByeAck and Welcome have no
// body.
//
// # Fragments
//
// A payload of up to MaxFragment bytes travels in one Data frame. A larger one
// is cut into fragments of at most MaxFragment bytes: a First frame, whose
// body is the payload's total length as a big-endian uint32 and then the first
// fragment, and More frames with the rest, until the fragments add up to the
// total. The fragments of one payload follow each other with no other data in
// between, so payloads keep their order, but control frames may come between
// them: a sender writes at most about MaxFragment bytes of data at a time, so
// that pings, pongs and goodbyes never wait behind a large payload.
//
// # Flow control
//
// Each side grants the other a window: how many payload bytes it may send
// that the receiver has not yet handed to its application. A window starts at
// InitialWindow, so that data can flow at once; a Window frame, whose body is
// a big-endian uint32, opens it by that many bytes. Each side sends one right
// after the verdict if it has more room than that, and more as its
// application takes messages. A payload's bytes count
// against the window as they are sent (the length field of a First frame does
// not count, nor does a Request or Reply frame: see Requests and replies); a sender never sends a frame that would overdraw it, and a
// receiver drops a peer that does. So every connection is always read, and
// control frames flow whatever the application does.
//
// # Identity
//
// A Hello's Addr is the address the sender's peers are to dial it at: its
// advertised address if it has one, else its listen address. Besides its
// address and nonce, a Hello carries who the node is:
//
//   - Name, unique among the live nodes of a cluster and, when the user sets
//     it, stable across restarts. A name that reappears at a new address
//     replaces the entry of the old address if that one is no longer
//     connected; if it is, the newcomer is refused with RejectName.
//   - Label, the cluster's name. An acceptor refuses a dialler whose label
//     is not its own with RejectLabel, after authentication, so before any
//     peer list or data; a dialler drops an acceptor that welcomes it with
//     another label. Empty labels are equal.
//   - Tags, the node's metadata: keys and values in turn, sorted by key,
//     and TagsVersion, which counts the node's changes of its tags.
//
// A node whose tags change sends a Tags frame (KindTags, a codec-encoded
// TagsUpdate with every key and value) to each remote; a receiver keeps the
// tags of the highest version it has seen, from the Hello or a Tags frame, and
// ignores the rest, so that an update that arrives late cannot undo a newer
// one. The keys and values of a node's tags add up to at most the receiver's
// tags limit (16 KiB by default); a peer that sends more, in its Hello or in
// a Tags frame, is dropped. A Hello may therefore be larger than other
// handshake frames.
//
// # Requests and replies
//
// A Request frame, whose body is a request id as a big-endian uint64, tags
// the next payload in the data stream (a Data frame, or a First frame and
// its More frames) as the body of a request: the receiving node hands it to
// its request handler instead of to its application's inbox, and answers it
// with a Reply frame, whose body is the same id and a status byte, tagging
// the next payload as the answer. Status ReplyOK: the payload is the answer;
// ReplyError: the payload is the text of the error the handler returned;
// ReplyNoHandler: the node has no request handler (the payload is empty).
// Ids are the requester's: it picks each one once. A reply to an id the
// requester does not wait for (it gave up) is discarded.
//
// Request and Reply frames travel in the data stream, in order with the
// payloads around them, so that requests and replies keep their order with
// ordinary messages; control frames may come between a tag and its payload,
// but no other data may. A receiver drops a peer that sends a tag inside a
// fragmented payload, a tag after a tag, or a reply with an unknown status.
// A tag's body does not count against the window, only the payload it tags
// does: so a payload as large as the window crosses it, tagged or not (a
// tag cannot stand alone, since a tag after a tag breaks the protocol).
//
// A requester that gives up on a request (its caller's context ended) sends
// a Cancel frame, a control frame whose body is the request's id, and
// discards the reply if one comes: the other side cancels the context of
// the request's handler if it is running, and ignores a Cancel of any other
// id, as one that overtook its request or came after its reply.
package wire

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/peerweave/peerweave/codec"
)

// Version is the highest protocol version this package speaks. Version 2
// added fragments and flow control; version 3, version negotiation, and
// names, labels and tags (see Identity); version 4, the per-message
// overhead in the window (MessageOverhead).
const Version = 4

// OverheadVersion is the first version whose windows charge every message
// MessageOverhead bytes besides its payload.
const OverheadVersion = 4

// MessageOverhead is what every message (a Data frame, or a First frame
// and its More frames; a request or a reply with the tag before it) costs
// in the receiver's window besides its payload, on connections of
// OverheadVersion or later: about what a receiver spends on a message
// besides its payload, so that a window bounds the memory of messages of
// any size, empty ones included. Each side's window is larger by one
// overhead, so that a fragment of MaxFragment bytes fits the smallest.
const MessageOverhead = 256

// Overhead returns the per-message overhead of a connection that speaks
// version v.
func Overhead(v uint8) int {
	if v >= OverheadVersion {
		return MessageOverhead
	}
	return 0
}

// MinVersion is the lowest protocol version this package speaks: nodes
// whose ranges share no version refuse each other.
const MinVersion = 3

// rangedVersion is the first version whose preamble carries a range: a
// preamble of a lower version speaks that version only.
const rangedVersion = 3

// magic opens every preamble.
const magic = "pwv"

// MaxCodecName is the longest codec name a preamble carries.
const MaxCodecName = 64

// HeaderSize is the size of a frame header: length and kind.
const HeaderSize = 5

// Kind identifies what a frame carries.
type Kind uint8

// Frame kinds.
const (
	KindData    Kind = 1  // body: payload bytes, raw
	KindHello   Kind = 2  // body: codec-encoded Hello
	KindWelcome Kind = 3  // no body: the acceptor took the connection
	KindReject  Kind = 4  // body: codec-encoded Reject; the acceptor closes
	KindPeers   Kind = 5  // body: codec-encoded Peers
	KindPing    Kind = 6  // no body: answer with Pong
	KindPong    Kind = 7  // no body
	KindBye     Kind = 8  // no body: graceful leave, answer with ByeAck
	KindByeAck  Kind = 9  // no body
	KindAuth    Kind = 10 // body: codec-encoded Auth
	KindFirst   Kind = 11 // body: total length:uint32, then the first fragment of a payload
	KindMore    Kind = 12 // body: the next fragment of the payload a First frame began
	KindWindow  Kind = 13 // body: increment:uint32 of the window the receiver grants
	KindTags    Kind = 14 // body: codec-encoded TagsUpdate
	KindRequest Kind = 15 // body: id:uint64; the next payload is the request's body
	KindReply   Kind = 16 // body: id:uint64 status:uint8; the next payload is the reply's body
	KindCancel  Kind = 17 // body: id:uint64 of a request the requester gave up on

	// KindLast is the highest kind this version knows.
	KindLast = KindCancel
)

// MaxFragment is the most payload bytes a First or More frame carries; a
// payload of at most MaxFragment bytes goes in one Data frame.
const MaxFragment = 64 << 10

// InitialWindow is the window each side of a connection starts with.
const InitialWindow = 64 << 10

// RequestSize and ReplySize are the sizes of a Request and a Reply frame's
// body; a Cancel frame's body is RequestSize bytes too.
const (
	RequestSize = 8
	ReplySize   = 9
)

// Reply statuses, the last byte of a Reply frame's body.
const (
	ReplyOK        byte = 0 // the payload is the answer
	ReplyError     byte = 1 // the payload is the text of the handler's error
	ReplyNoHandler byte = 2 // the node answers no requests
)

// WindowSize is the size of a Window frame's body and of a First frame's
// length field.
const WindowSize = 4

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindData:
		return "data"
	case KindHello:
		return "hello"
	case KindWelcome:
		return "welcome"
	case KindReject:
		return "reject"
	case KindPeers:
		return "peers"
	case KindPing:
		return "ping"
	case KindPong:
		return "pong"
	case KindBye:
		return "bye"
	case KindByeAck:
		return "byeack"
	case KindAuth:
		return "auth"
	case KindFirst:
		return "first"
	case KindMore:
		return "more"
	case KindWindow:
		return "window"
	case KindTags:
		return "tags"
	case KindRequest:
		return "request"
	case KindReply:
		return "reply"
	case KindCancel:
		return "cancel"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// HasBody reports whether frames of kind k may carry a body.
func (k Kind) HasBody() bool {
	return k != KindWelcome && k != KindPing && k != KindPong && k != KindBye && k != KindByeAck
}

// The control messages, which the connection's codec encodes. They are
// defined in package codec, so that codecs need not import the protocol.
type (
	Hello      = codec.Hello
	Auth       = codec.Auth
	Peers      = codec.Peers
	Reject     = codec.Reject
	RejectCode = codec.RejectCode
	TagsUpdate = codec.TagsUpdate
)

// Reject codes, the values of Reject.Code: the protocol defines them.
const (
	RejectDuplicate RejectCode = 1 // a connection between the two nodes exists or wins the tie-break
	RejectSelf      RejectCode = 2 // the dialler reached itself
	RejectClosing   RejectCode = 3 // the acceptor is shutting down
	RejectGone      RejectCode = 4 // the two said goodbye before, and the dialler dials because a peer list named the acceptor or to reconnect
	RejectAuth      RejectCode = 5 // the dialler could not prove it knows the shared secret
	RejectLabel     RejectCode = 6 // the dialler's cluster label is not the acceptor's
	RejectName      RejectCode = 7 // another live node has the dialler's name
)

// ErrBadMagic reports a preamble that does not start with the protocol magic:
// the other side does not speak peerweave at all.
var ErrBadMagic = errors.New("wire: not a peerweave peer")

// Preamble is what a connection opens with: the range of protocol versions
// the sender speaks, and its codec.
type Preamble struct {
	// Version is the highest version the sender speaks.
	Version uint8
	Codec   string
	// MinVersion is the lowest version the sender speaks. A preamble of a
	// version below 3 has no room for it: it equals Version.
	MinVersion uint8
}

// Append appends the preamble to b. It panics on a codec name longer than
// MaxCodecName, on MinVersion above Version, and on a version below 3 with
// MinVersion apart from it, which the layout cannot carry.
func (p Preamble) Append(b []byte) []byte {
	switch {
	case len(p.Codec) > MaxCodecName:
		panic("wire: codec name longer than MaxCodecName")
	case p.MinVersion > p.Version:
		panic("wire: preamble with MinVersion above Version")
	case p.Version < rangedVersion && p.MinVersion != p.Version:
		panic("wire: a preamble below version 3 speaks one version")
	}
	b = append(b, magic...)
	b = append(b, p.Version, byte(len(p.Codec)))
	b = append(b, p.Codec...)
	if p.Version >= rangedVersion {
		b = append(b, p.MinVersion)
	}
	return b
}

// Common returns the highest version that p and q both speak, and false if
// they share none.
func (p Preamble) Common(q Preamble) (uint8, bool) {
	v := min(p.Version, q.Version)
	return v, v >= max(p.MinVersion, q.MinVersion)
}

// AppendPreamble appends the preamble of this package, for codec, to b.
func AppendPreamble(b []byte, codec string) []byte {
	return Preamble{Version: Version, MinVersion: MinVersion, Codec: codec}.Append(b)
}

// ReadPreamble reads a preamble from r, and not a byte past it.
func ReadPreamble(r io.Reader) (Preamble, error) {
	var head [len(magic) + 2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return Preamble{}, fmt.Errorf("wire: read preamble: %w", err)
	}
	if string(head[:len(magic)]) != magic {
		return Preamble{}, ErrBadMagic
	}
	v := head[len(magic)]
	n := int(head[len(magic)+1])
	if n > MaxCodecName {
		return Preamble{}, fmt.Errorf("wire: codec name of %d bytes: %w", n, ErrBadMagic)
	}
	rest := n
	if v >= rangedVersion {
		rest++
	}
	b := make([]byte, rest)
	if _, err := io.ReadFull(r, b); err != nil {
		return Preamble{}, fmt.Errorf("wire: read preamble: %w", err)
	}
	p := Preamble{Version: v, Codec: string(b[:n]), MinVersion: v}
	if v >= rangedVersion {
		p.MinVersion = b[n]
	}
	if p.MinVersion > p.Version {
		return Preamble{}, fmt.Errorf("wire: preamble of versions %d to %d: %w", p.MinVersion, p.Version, ErrBadMagic)
	}
	return p, nil
}

// PutHeader writes a frame header for a body of n bytes into h.
func PutHeader(h []byte, k Kind, n int) {
	binary.BigEndian.PutUint32(h, uint32(n+1))
	h[4] = byte(k)
}

// AppendHeader appends a frame header for a body of n bytes to b.
func AppendHeader(b []byte, k Kind, n int) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(n+1)), byte(k))
}

// ParseHeader returns the kind and body length a frame header announces. It
// rejects a zero length, an unknown kind, a body on a kind that has none, and
// a body longer than max bytes, before anything is allocated for it.
func ParseHeader(h []byte, max int) (Kind, int, error) {
	return ParseHeaderUpTo(h, max, KindLast)
}

// ParseHeaderUpTo is ParseHeader for a reader whose kinds end at last
// rather than KindLast: a node of a later release, as the tests of package
// cluster make, knows kinds past it on connections of its later version.
func ParseHeaderUpTo(h []byte, max int, last Kind) (Kind, int, error) {
	length := binary.BigEndian.Uint32(h)
	if length == 0 {
		return 0, 0, errors.New("wire: frame of length 0")
	}
	k := Kind(h[4])
	if k < KindData || k > last {
		return 0, 0, fmt.Errorf("wire: unknown frame %s", k)
	}
	n := int64(length) - 1
	if n > 0 && !k.HasBody() {
		return 0, 0, fmt.Errorf("wire: %s frame with a %d-byte body", k, n)
	}
	if n > int64(max) {
		return 0, 0, fmt.Errorf("wire: %s frame of %d bytes exceeds the %d-byte limit: %w", k, n, max, ErrFrameTooLarge)
	}
	return k, int(n), nil
}

// ErrFrameTooLarge reports a frame over the size limit.
var ErrFrameTooLarge = errors.New("frame too large")

// Roles that a proof is made for, so that a proof made by one side cannot be
// handed back to it as the other's.
const (
	RoleAcceptor = "peerweave/3 acceptor"
	RoleDialler  = "peerweave/3 dialler"
)

// ExporterLabel is the label of the TLS exported keying material that a
// proof binds to (RFC 8446 section 7.5), and ExporterSize its length.
const (
	ExporterLabel = "EXPORTER-peerweave/3 secret proof"
	ExporterSize  = 32
)

// proofKeyInfo is the HKDF info that derives a proof key from a secret.
const proofKeyInfo = "peerweave/3 proof key"

// ProofKey derives the key that proofs of secret are made with:
// HKDF-SHA256 with no salt. The secret itself never keys a MAC, so a proof
// key found some other way would not give the secret away.
func ProofKey(secret []byte) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, proofKeyInfo, sha256.Size)
	if err != nil {
		panic(err) // only for a key longer than 255 hashes
	}
	return k
}

// Prove returns HMAC-SHA256 keyed with key (from ProofKey) over the role,
// the TLS session's exported keying material (ExporterLabel, no context,
// ExporterSize bytes) and the transcript so far, each prefixed with its
// length. The keying material is unique to one TLS session and known only to
// its two ends, so a proof is worth nothing on any other connection.
func Prove(key []byte, role string, exported, transcript []byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, b := range [][]byte{[]byte(role), exported, transcript} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		m.Write(b)
	}
	return m.Sum(nil)
}

// Verify reports, in constant time, whether proof is what Prove returns.
func Verify(key []byte, role string, exported, transcript, proof []byte) bool {
	return hmac.Equal(proof, Prove(key, role, exported, transcript))
}
