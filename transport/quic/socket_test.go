package quic_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/transport/quic"
)

// A node's connections leave from its listening socket, so that peers see
// its listening address.
func TestDialsFromListeningSocket(t *testing.T) {
	tr := quic.New()
	own := listen(t, tr)
	d, a := connect(t, tr, listen(t, quic.New()))
	assert.Equal(t, own.Addr().String(), a.RemoteAddr().String(), "the acceptor sees where the dialler listens")
	assert.Equal(t, own.Addr().String(), d.LocalAddr().String())
	assert.IsType(t, &net.UDPAddr{}, own.Addr())
}

// Dial takes the address forms a node may be given: an empty host is this
// machine, and an IPv4-in-IPv6 address is the IPv4 one.
func TestDialAddressForms(t *testing.T) {
	ln := listen(t, quic.New())
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	for _, raddr := range []string{":" + port, "[::ffff:127.0.0.1]:" + port} {
		d, err := dial(quic.New(), raddr)
		require.NoError(t, err, raddr)
		t.Cleanup(func() { d.Close() })
		a, err := ln.Accept()
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		roundTrip(t, d, a)
	}
}

func TestListenOnceAtATime(t *testing.T) {
	tr := quic.New()
	ln, err := tr.Listen("127.0.0.1:0")
	require.NoError(t, err)
	_, err = tr.Listen("127.0.0.1:0")
	assert.Error(t, err, "a second listener on one transport")
	require.NoError(t, ln.Close())
	ln, err = tr.Listen("127.0.0.1:0")
	require.NoError(t, err, "listening again after the listener closed")
	require.NoError(t, ln.Close())
}

// The socket outlives the listener while connections use it, and closes
// with the last of them, leaving no goroutine behind.
func TestSocketClosesWithLastUse(t *testing.T) {
	idle := goleak.IgnoreCurrent()
	tr, peer := quic.New(), quic.New()
	ln, err := tr.Listen("127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.UDPAddr)
	d, err := dial(peer, addr.String())
	require.NoError(t, err)
	a, err := ln.Accept()
	require.NoError(t, err)
	require.NoError(t, ln.Close())

	roundTrip(t, d, a)
	_, err = net.ListenUDP("udp", addr)
	require.Error(t, err, "the socket must stay open for the accepted connection")

	require.NoError(t, d.Close())
	require.NoError(t, a.Close())
	goleak.VerifyNone(t, idle)
	u, err := net.ListenUDP("udp", addr)
	require.NoError(t, err, "the socket must close with its last connection")
	u.Close()
}

// A transport that never listens dials from a socket of its own, which
// closes with its last connection.
func TestDialWithoutListening(t *testing.T) {
	idle := goleak.IgnoreCurrent()
	peer := quic.New()
	ln, err := peer.Listen("127.0.0.1:0")
	require.NoError(t, err)
	d, err := dial(quic.New(), ln.Addr().String())
	require.NoError(t, err)
	a, err := ln.Accept()
	require.NoError(t, err)
	roundTrip(t, d, a)
	require.NoError(t, d.Close())
	require.NoError(t, a.Close())
	require.NoError(t, ln.Close())
	goleak.VerifyNone(t, idle)
}
