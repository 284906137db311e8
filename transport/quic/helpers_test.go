package quic_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport/quic"
)

// patience bounds waits for things that should happen promptly.
const patience = 10 * time.Second

// listen listens on the loopback interface, until the test ends.
func listen(t *testing.T, tr *quic.Transport) net.Listener {
	t.Helper()
	ln, err := tr.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dial dials addr with tr within patience.
func dial(tr *quic.Transport, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return tr.Dial(ctx, addr)
}

// connect dials ln with tr and returns both ends, closed when the test ends.
func connect(t *testing.T, tr *quic.Transport, ln net.Listener) (dialled, accepted net.Conn) {
	t.Helper()
	dialled, err := dial(tr, ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { dialled.Close() })
	accepted, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { accepted.Close() })
	return dialled, accepted
}

// roundTrip sends a message each way between a and b.
func roundTrip(t *testing.T, a, b net.Conn) {
	t.Helper()
	for _, p := range [][2]net.Conn{{a, b}, {b, a}} {
		_, err := p[0].Write([]byte("ping"))
		require.NoError(t, err)
		p[1].SetReadDeadline(time.Now().Add(patience))
		got := make([]byte, 4)
		_, err = io.ReadFull(p[1], got)
		require.NoError(t, err)
		require.Equal(t, "ping", string(got))
	}
}
