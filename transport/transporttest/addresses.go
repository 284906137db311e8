package transporttest

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listenAddress: port 0 picks a free port, and Addr says which.
func listenAddress(t *testing.T, newTransport NewTransport) {
	ln := listen(t, newTransport)
	a, err := netip.ParseAddrPort(ln.Addr().String())
	require.NoError(t, err, "listener address %q is not ip:port", ln.Addr().String())
	assert.Equal(t, "127.0.0.1", a.Addr().Unmap().String(), "listener address")
	assert.NotZero(t, a.Port(), "listening on port 0 must pick a port")
}

// listenOnGivenPort: a node listens where it is told, once the port is free.
func listenOnGivenPort(t *testing.T, newTransport NewTransport) {
	first := listen(t, newTransport)
	addr := first.Addr().String()
	require.NoError(t, first.Close())
	ln, err := newTransport(t).Listen(addr)
	require.NoError(t, err, "listen again on %s after closing its listener", addr)
	defer ln.Close()
	assert.Equal(t, addr, ln.Addr().String())
}

// dialAccept: a dialled connection is accepted, and both ends name their
// endpoints as ip:port.
func dialAccept(t *testing.T, newTransport NewTransport) {
	d, a, _ := pair(t, newTransport)
	assertIPPort(t, d.LocalAddr(), "dialled LocalAddr")
	assertIPPort(t, d.RemoteAddr(), "dialled RemoteAddr")
	assertIPPort(t, a.LocalAddr(), "accepted LocalAddr")
	assertIPPort(t, a.RemoteAddr(), "accepted RemoteAddr")
	exchange(t, d, a)
}

// dialOwnListener: a transport reaches its own listener. A node dials its
// own address when a peer list names it, and must learn it is itself.
func dialOwnListener(t *testing.T, newTransport NewTransport) {
	tr := newTransport(t)
	ln, err := tr.Listen(loopback)
	require.NoError(t, err)
	defer ln.Close()
	d, a := connect(t, tr, ln)
	exchange(t, d, a)
}
