package codectest_test

import (
	"fmt"
	"testing"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/internal/wire"
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
		{"Hello", &wire.Hello{Addr: "10.0.0.1:7946", Nonce: make([]byte, 16)}, func() any { return new(wire.Hello) }},
		{"Peers100", &wire.Peers{Addrs: addrs}, func() any { return new(wire.Peers) }},
	}
	for _, c := range []cluster.Codec{gob.Codec{}, msgpack.Codec{}} {
		for _, m := range messages {
			b.Run(c.Name()+"/"+m.name, func(b *testing.B) {
				var frame []byte
				enc := c.NewEncoder(writerFunc(func(p []byte) (int, error) {
					frame = append(frame, p...)
					return len(p), nil
				}))
				var body wire.BodyReader
				dec := c.NewDecoder(&body)
				for b.Loop() {
					frame = frame[:0]
					if err := enc.Encode(m.v); err != nil {
						b.Fatal(err)
					}
					body.Reset(frame)
					if err := dec.Decode(m.into()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(frame)), "frame-bytes")
			})
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
