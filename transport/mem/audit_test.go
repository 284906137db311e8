package mem_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./transport/mem that no other test checked when they were
// written.

// auditListen listens on nw at laddr until the test ends.
func auditListen(t *testing.T, nw *mem.Network, laddr string) net.Listener {
	t.Helper()
	ln, err := nw.Listen(laddr)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// A Network implements transport.Transport.
var _ transport.Transport = (*mem.Network)(nil)

// Dial where nothing listens, or no longer listens, fails with ErrRefused,
// which is a TCP connection refused.
func TestAuditDialWhereNothingListensIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		_, err := nw.Dial(t.Context(), "10.0.0.1:7946")
		assert.ErrorIs(t, err, mem.ErrRefused)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)

		ln, err := nw.Listen("10.0.0.1:7946")
		require.NoError(t, err)
		require.NoError(t, ln.Close())
		_, err = nw.Dial(t.Context(), "10.0.0.1:7946")
		assert.ErrorIs(t, err, mem.ErrRefused)
	})
}

// Addresses are exact: a wildcard listener is reached only by dialling
// that very address, and nodes of different IPs can share a port.
func TestAuditAddressesAreExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		auditListen(t, nw, "0.0.0.0:7946")
		_, err := nw.Dial(t.Context(), "10.0.0.1:7946")
		assert.ErrorIs(t, err, mem.ErrRefused, "a wildcard listener is not reached by another IP")
		_, err = nw.Dial(t.Context(), "127.0.0.1:7946")
		assert.ErrorIs(t, err, mem.ErrRefused, "a Network has no loopback")

		lnA := auditListen(t, nw, "10.0.0.1:7946")
		lnB := auditListen(t, nw, "10.0.0.2:7946")
		for _, ln := range []net.Listener{lnA, lnB} {
			c, err := nw.Dial(t.Context(), ln.Addr().String())
			require.NoError(t, err)
			acc, err := ln.Accept()
			require.NoError(t, err)
			assert.Equal(t, ln.Addr().String(), c.RemoteAddr().String())
			assert.Equal(t, c.LocalAddr().String(), acc.RemoteAddr().String())
			c.Close()
			acc.Close()
		}
		c, err := nw.Dial(t.Context(), "0.0.0.0:7946")
		require.NoError(t, err, "a wildcard listener is reached by its very address")
		c.Close()

		auditListen(t, nw, "[::]:7000")
		_, err = nw.Dial(t.Context(), "10.0.0.1:7000")
		assert.ErrorIs(t, err, mem.ErrRefused, "an IPv6 wildcard listener is not reached by another IP")
		c, err = nw.Dial(t.Context(), "[::]:7000")
		require.NoError(t, err, "an IPv6 wildcard listener is reached by its very address")
		c.Close()
	})
}

// A dialled connection's local address is 127.0.0.1 with a port of its own.
func TestAuditDialledConnectionsHaveLoopbackAddressesOfTheirOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		ln := auditListen(t, nw, "10.0.0.1:7946")
		ports := map[int]bool{}
		for range 3 {
			c, err := nw.Dial(t.Context(), ln.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			local, ok := c.LocalAddr().(*net.TCPAddr)
			if !assert.True(t, ok, "%T", c.LocalAddr()) {
				continue
			}
			assert.Equal(t, "127.0.0.1", local.IP.String())
			assert.NotZero(t, local.Port)
			assert.False(t, ports[local.Port], "port %d given twice", local.Port)
			ports[local.Port] = true
		}
	})
}

// A Write returns once its bytes are buffered, up to BufferSize with
// nobody reading; past that it blocks until the other end reads.
func TestAuditWriteBuffersBufferSizeBytesThenBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		ln := auditListen(t, nw, "10.0.0.1:7946")
		c, err := nw.Dial(t.Context(), ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		acc, err := ln.Accept()
		require.NoError(t, err)
		defer acc.Close()

		n, err := c.Write(make([]byte, mem.BufferSize))
		require.NoError(t, err, "a write of BufferSize bytes with nobody reading")
		require.Equal(t, mem.BufferSize, n)

		done := make(chan error, 1)
		go func() {
			_, err := c.Write([]byte{1})
			done <- err
		}()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("a write past BufferSize returned (%v) with nobody reading", err)
		default:
		}
		_, err = acc.Read(make([]byte, 1))
		require.NoError(t, err)
		synctest.Wait()
		select {
		case err := <-done:
			assert.NoError(t, err)
		default:
			t.Fatal("the write did not return once the reader made room")
		}
	})
}

// The listener's Accept after Close fails with net.ErrClosed, and the
// connections it accepted keep working.
func TestAuditClosedListenerLeavesConnectionsAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		ln, err := nw.Listen("10.0.0.1:0")
		require.NoError(t, err)
		c, err := nw.Dial(t.Context(), ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		acc, err := ln.Accept()
		require.NoError(t, err)
		defer acc.Close()
		require.NoError(t, ln.Close())
		_, err = ln.Accept()
		assert.True(t, errors.Is(err, net.ErrClosed), "%v", err)
		_, err = c.Write([]byte("still here"))
		require.NoError(t, err)
		got := make([]byte, 10)
		_, err = acc.Read(got)
		require.NoError(t, err)
		assert.Equal(t, "still here", string(got))
	})
}
