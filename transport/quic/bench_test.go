package quic_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/tcp"
)

// benchTransports are what QUIC is measured against, each making one
// endpoint's transport.
var benchTransports = []struct {
	name string
	new  func() cluster.Transport
}{
	{"tcp", func() cluster.Transport { return tcp.New() }},
	{"quic", func() cluster.Transport { return quic.New() }},
}

// benchPair connects two endpoints on the loopback interface.
func benchPair(b *testing.B, newTransport func() cluster.Transport) (dialled, accepted net.Conn) {
	ln, err := newTransport().Listen("127.0.0.1:0")
	require.NoError(b, err)
	b.Cleanup(func() { ln.Close() })
	dialled, err = newTransport().Dial(context.Background(), ln.Addr().String())
	require.NoError(b, err)
	accepted, err = ln.Accept()
	require.NoError(b, err)
	b.Cleanup(func() {
		dialled.Close()
		accepted.Close()
	})
	return dialled, accepted
}

// BenchmarkThroughput writes one way in chunks of 1 KiB and 64 KiB.
func BenchmarkThroughput(b *testing.B) {
	for _, tr := range benchTransports {
		for _, size := range []int{1 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", tr.name, size>>10), func(b *testing.B) {
				d, a := benchPair(b, tr.new)
				chunk := make([]byte, size)
				b.SetBytes(int64(size))
				done := make(chan error, 1)
				go func() {
					_, err := io.CopyN(io.Discard, a, int64(size)*int64(b.N))
					done <- err
				}()
				b.ResetTimer()
				for range b.N {
					if _, err := d.Write(chunk); err != nil {
						b.Fatal(err)
					}
				}
				require.NoError(b, <-done)
			})
		}
	}
}

// BenchmarkRoundTrip sends 64 bytes and waits for them to come back.
func BenchmarkRoundTrip(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr.name, func(b *testing.B) {
			d, a := benchPair(b, tr.new)
			go io.Copy(a, a)
			msg := make([]byte, 64)
			b.ResetTimer()
			for range b.N {
				if _, err := d.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(d, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
