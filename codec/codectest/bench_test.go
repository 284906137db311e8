package codectest_test

import (
	"fmt"
	"testing"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
)

// BenchmarkStream measures what a message costs to encode and decode on a
// connection that is already open, as a node uses a codec: one encoder and
// one decoder for every message, a fresh value to decode each into.
func BenchmarkStream(b *testing.B) {
	addrs := make([]string, 100)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.0.%d.%d:7946", i/256, i%256)
	}
	messages := []struct {
		name string
		v    any
		into func() any
	}{
		{"Hello", &codec.Hello{Addr: "10.0.0.1:7946", Nonce: make([]byte, 16)}, func() any { return new(codec.Hello) }},
		{"Peers100", &codec.Peers{Addrs: addrs}, func() any { return new(codec.Peers) }},
	}
	for _, c := range []codec.Codec{gob.Codec{}, msgpack.Codec{}, handCodec{}} {
		for _, m := range messages {
			b.Run(c.Name()+"/"+m.name, func(b *testing.B) {
				enc, dec := c.NewEncoder(), c.NewDecoder()
				var frame []byte
				for b.Loop() {
					var err error
					if frame, err = enc.Append(frame[:0], m.v); err != nil {
						b.Fatal(err)
					}
					if err := dec.Decode(frame, m.into()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(frame)), "frame-bytes")
			})
		}
	}
}
