package codectest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/codectest"
)

// handCodec is a codec written by hand, with no reflection: a type switch
// over the five messages. A message is a tag byte, then its fields in order:
// a bool or a reject code as one byte, an unsigned integer as a uvarint, a
// string or byte slice as its length (a uvarint) and its bytes, and a list as
// its length and its strings. Every
// length is checked against the bytes that are left before anything is
// allocated for it, so a frame cannot claim more memory than it holds.
//
// The layout is fixed, so adding a field to a message makes another
// encoding, which would need another name.
type handCodec struct{}

func (handCodec) Name() string              { return "hand" }
func (handCodec) NewEncoder() codec.Encoder { return handCodec{} }
func (handCodec) NewDecoder() codec.Decoder { return handCodec{} }

// Message tags, so that a frame of one type is refused as another.
const (
	tagHello byte = 1 + iota
	tagAuth
	tagPeers
	tagReject
	tagTags
)

func (handCodec) Append(b []byte, v any) ([]byte, error) {
	switch m := v.(type) {
	case *codec.Hello:
		b = appendString(append(b, tagHello), m.Addr)
		b = append(appendString(b, m.Nonce), boolByte(m.Join), boolByte(m.Redial))
		b = appendString(appendString(b, m.Challenge), m.Proof)
		b = appendString(appendString(b, m.Name), m.Label)
		return binary.AppendUvarint(appendList(b, m.Tags), m.TagsVersion), nil
	case *codec.Auth:
		return appendString(append(b, tagAuth), m.Proof), nil
	case *codec.Peers:
		return appendList(append(b, tagPeers), m.Addrs), nil
	case *codec.Reject:
		return appendString(append(b, tagReject, byte(m.Code)), m.Reason), nil
	case *codec.TagsUpdate:
		return appendList(binary.AppendUvarint(append(b, tagTags), m.Version), m.Tags), nil
	}
	return b, fmt.Errorf("hand: cannot encode %T", v)
}

func appendList(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

func appendString[T string | []byte](b []byte, s T) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func (handCodec) Decode(body []byte, v any) error {
	r := &reader{b: body}
	switch m := v.(type) {
	case *codec.Hello:
		r.tag(tagHello)
		m.Addr, m.Nonce, m.Join, m.Redial = string(r.bytes()), bytes.Clone(r.bytes()), r.bool(), r.bool()
		m.Challenge, m.Proof = bytes.Clone(r.bytes()), bytes.Clone(r.bytes())
		m.Name, m.Label = string(r.bytes()), string(r.bytes())
		m.Tags, m.TagsVersion = r.list(), r.uvarint()
	case *codec.Auth:
		r.tag(tagAuth)
		m.Proof = bytes.Clone(r.bytes())
	case *codec.Peers:
		r.tag(tagPeers)
		m.Addrs = r.list()
	case *codec.TagsUpdate:
		r.tag(tagTags)
		m.Version, m.Tags = r.uvarint(), r.list()
	case *codec.Reject:
		r.tag(tagReject)
		m.Code, m.Reason = codec.RejectCode(r.byte()), string(r.bytes())
	default:
		return fmt.Errorf("hand: cannot decode %T", v)
	}
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("hand: %d bytes after the message", len(r.b))
	}
	return r.err
}

// reader reads the fields of a message from the front of b. Once one is
// missing, err is set and every read returns a zero value.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("hand: frame ends inside the message")

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail(errShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) tag(want byte) {
	if got := r.byte(); got != want && r.err == nil {
		r.fail(fmt.Errorf("hand: message tag %d where %d was due", got, want))
	}
}

func (r *reader) bool() bool {
	c := r.byte()
	if c > 1 {
		r.fail(fmt.Errorf("hand: bool %d", c))
	}
	return c == 1
}

// uvarint reads an unsigned integer.
func (r *reader) uvarint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail(errShort)
		return 0
	}
	r.b = r.b[k:]
	return n
}

// list reads a list of strings, nil if it is empty. Each string takes at
// least its length byte, so the length bounds what it allocates.
func (r *reader) list() []string {
	n := r.length()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = string(r.bytes())
	}
	return l
}

// length reads a length, which may not exceed the bytes that are left.
func (r *reader) length() int {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.fail(errShort)
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

// bytes reads a string or byte slice. What it returns aliases the frame, so
// the caller copies it.
func (r *reader) bytes() []byte {
	n := r.length()
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// A codec needs no reflection: this one is a type switch over the messages
// of package codec. Its tests check it and fuzz its decoder, one line each;
// run the fuzz target with go test -fuzz=FuzzDecode.
func Example() {
	_ = func(t *testing.T) { codectest.Run(t, handCodec{}) }
	_ = func(f *testing.F) { codectest.Fuzz(f, handCodec{}) }
}
