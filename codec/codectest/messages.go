package codectest

import (
	"fmt"
	"reflect"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/internal/wire"
)

// sample is a message the suite sends, named for failure reports.
type sample struct {
	name string
	v    any // a pointer to a wire message
}

// messageTypes are the types of every message a codec encodes.
var messageTypes = []reflect.Type{
	reflect.TypeFor[codec.Hello](),
	reflect.TypeFor[codec.Peers](),
	reflect.TypeFor[codec.Reject](),
	reflect.TypeFor[codec.Auth](),
	reflect.TypeFor[codec.TagsUpdate](),
}

// full has one message of each type with every field set: the messages that
// the suite decodes as other types and mangles.
var full = []sample{
	{"Hello", &codec.Hello{Addr: "[2001:db8::1]:7946", Nonce: bytesN(64, 1), Join: true, Redial: true, Challenge: bytesN(32, 2), Proof: bytesN(32, 3),
		Name: "node-eu-1", Label: "prod", Tags: []string{"role", "db", "zone", "eu-west-1a"}, TagsVersion: 1 << 40}},
	{"Peers", &codec.Peers{Addrs: []string{"10.0.0.1:7946", "[2001:db8::2]:65535"}}},
	{"Reject", &codec.Reject{Code: wire.RejectDuplicate, Reason: "already connected"}},
	{"Auth", &codec.Auth{Proof: bytesN(32, 4)}},
	{"TagsUpdate", &codec.TagsUpdate{Version: 1 << 40, Tags: []string{"role", "db", "zone", "eu-west-1a"}}},
}

// compact has one message of each type with every field set, each as short
// as can be: the messages that checkClaims cuts at every byte.
var compact = []sample{
	{"Hello", &codec.Hello{Addr: "a", Nonce: []byte{1}, Join: true, Redial: true, Challenge: []byte{2}, Proof: []byte{3},
		Name: "n", Label: "l", Tags: []string{"k", "v"}, TagsVersion: 1}},
	{"Peers", &codec.Peers{Addrs: []string{"a", "b"}}},
	{"Reject", &codec.Reject{Code: wire.RejectGone, Reason: "x"}},
	{"Auth", &codec.Auth{Proof: []byte{4}}},
	{"TagsUpdate", &codec.TagsUpdate{Version: 1, Tags: []string{"k", "v"}}},
}

// samples returns every message the suite round-trips: each message type
// with and without each optional field, zero values, empty and nil slices,
// and a peer list of 10,000 addresses.
func samples() []sample {
	seed := byte(10)
	distinct := func(n int) []byte {
		seed++
		return bytesN(n, seed)
	}
	s := []sample{
		{"Hello/minimal", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16)}},
		{"Hello/join", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Join: true}},
		{"Hello/redial", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Join: true, Redial: true}},
		{"Hello/challenge", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Challenge: distinct(32)}},
		{"Hello/proof", &codec.Hello{Addr: "0.0.0.0:7946", Nonce: distinct(16), Challenge: distinct(32), Proof: distinct(32)}},
		{"Hello/nil-nonce", &codec.Hello{Addr: "127.0.0.1:7946"}},
		{"Hello/empty-nonce", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: []byte{}}},
		{"Hello/64-byte-nonce", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(64)}},
		{"Hello/zero", &codec.Hello{}},
		{"Hello/name", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Name: "node-1"}},
		{"Hello/label", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Label: "prod"}},
		{"Hello/tags", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Tags: []string{"role", "db"}, TagsVersion: 3}},
		{"Hello/empty-tag-value", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Tags: []string{"role", ""}, TagsVersion: 1}},
		{"Hello/16KiB-tags", &codec.Hello{Addr: "127.0.0.1:7946", Nonce: distinct(16), Tags: []string{"blob", string(distinct(16 << 10))}, TagsVersion: 1}},
		{"Peers/nil", &codec.Peers{}},
		{"Peers/empty", &codec.Peers{Addrs: []string{}}},
		{"Peers/1", &codec.Peers{Addrs: addrs(1)}},
		{"Peers/empty-address", &codec.Peers{Addrs: []string{""}}},
		{"Peers/100", &codec.Peers{Addrs: addrs(100)}},
		{"Peers/10000", &codec.Peers{Addrs: addrs(10000)}},
		{"Reject/zero", &codec.Reject{}},
		{"Reject/no-reason", &codec.Reject{Code: wire.RejectClosing}},
		{"Reject/unicode-reason", &codec.Reject{Code: wire.RejectGone, Reason: "nœud parti ✓"}},
		{"Auth/proof", &codec.Auth{Proof: distinct(32)}},
		{"Auth/zero", &codec.Auth{}},
		{"TagsUpdate/zero", &codec.TagsUpdate{}},
		{"TagsUpdate/empty", &codec.TagsUpdate{Version: 2, Tags: []string{}}},
		{"TagsUpdate/empty-key-and-value", &codec.TagsUpdate{Version: 2, Tags: []string{"", ""}}},
		{"TagsUpdate/max-version", &codec.TagsUpdate{Version: ^uint64(0), Tags: []string{"role", "web"}}},
		{"TagsUpdate/10-tags", &codec.TagsUpdate{Version: 7, Tags: addrs(20)}},
	}
	for _, f := range full {
		s = append(s, sample{f.name + "/full", f.v})
	}
	return s
}

// bytesN returns n bytes that vary, and differ from those of another seed.
func bytesN(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*167) + seed
	}
	return b
}

// addrs returns n distinct listen addresses, IPv4 and IPv6.
func addrs(n int) []string {
	a := make([]string, n)
	for i := range a {
		if i%4 == 3 {
			a[i] = fmt.Sprintf("[fd00::%x:%x]:%d", i>>16, i&0xffff, 1024+i%60000)
		} else {
			a[i] = fmt.Sprintf("10.%d.%d.%d:%d", i>>16&0xff, i>>8&0xff, i&0xff, 1024+i%60000)
		}
	}
	return a
}
