package msgpack_test

import (
	"encoding/hex"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/codectest"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/wire"
)

func TestConformance(t *testing.T) { codectest.Run(t, msgpack.Codec{}) }

func FuzzDecode(f *testing.F) { codectest.Fuzz(f, msgpack.Codec{}) }

// encode returns v's frame body.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Codec{}.NewEncoder().Append(nil, v)
	require.NoError(t, err)
	return b
}

// decode decodes a frame body into v.
func decode(body []byte, v any) error { return msgpack.Codec{}.NewDecoder().Decode(body, v) }

// TestWireFormat pins the encoding: a map from field name to value, zero
// fields left out, integers in their shortest form. A change here is a
// change of protocol.
func TestWireFormat(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{&codec.Hello{Addr: "10.0.0.1:7946", Nonce: []byte{1, 2}, Join: true},
			"83" + "a4" + hex.EncodeToString([]byte("Addr")) + "ad" + hex.EncodeToString([]byte("10.0.0.1:7946")) +
				"a5" + hex.EncodeToString([]byte("Nonce")) + "c4020102" + "a4" + hex.EncodeToString([]byte("Join")) + "c3"},
		{&codec.Peers{Addrs: []string{"10.0.0.2:7946"}},
			"81" + "a5" + hex.EncodeToString([]byte("Addrs")) + "91" + "ad" + hex.EncodeToString([]byte("10.0.0.2:7946"))},
		{&codec.Peers{}, "80"},
		{&codec.Reject{Code: wire.RejectSelf, Reason: "self"},
			"82" + "a4" + hex.EncodeToString([]byte("Code")) + "02" + "a6" + hex.EncodeToString([]byte("Reason")) + "a4" + hex.EncodeToString([]byte("self"))},
		{&codec.Auth{Proof: []byte{0xaa}}, "81" + "a5" + hex.EncodeToString([]byte("Proof")) + "c401aa"},
	} {
		assert.Equal(t, c.want, hex.EncodeToString(encode(t, c.v)), "%T", c.v)
	}
}

// helloV2 is a Hello of a later protocol, with a field that this one lacks
// and its fields in another order.
type helloV2 struct {
	Zone      string
	Proof     []byte
	Challenge []byte
	Join      bool
	Nonce     []byte
	Addr      string
}

func TestFieldsEvolveByName(t *testing.T) {
	var h codec.Hello
	require.NoError(t, decode(encode(t, &helloV2{Addr: "10.0.0.1:7946", Nonce: []byte{1}}), &h),
		"a field this node does not know, left zero, is not seen")
	assert.Equal(t, codec.Hello{Addr: "10.0.0.1:7946", Nonce: []byte{1}}, h, "fields are matched by name, not place")

	err := decode(encode(t, &helloV2{Addr: "10.0.0.1:7946", Zone: "eu"}), new(codec.Hello))
	assert.ErrorContains(t, err, `unknown field "Zone"`, "a field this node does not know, set, is refused")

	var v2 helloV2
	require.NoError(t, decode(encode(t, &codec.Hello{Addr: "10.0.0.1:7946", Join: true}), &v2),
		"a newer node reads an older one")
	assert.Equal(t, helloV2{Addr: "10.0.0.1:7946", Join: true}, v2)
}

// A node encodes its control messages with msgpack when it is created with
// it. Every node of a cluster must use the same codec: the handshake
// refuses a peer whose codec has another name.
func Example() {
	n, err := cluster.NewNode(":7946", cluster.WithCodec(msgpack.Codec{}))
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
}
