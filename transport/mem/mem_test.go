package mem_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	nw := mem.NewNetwork()
	transporttest.Run(t, func(*testing.T) cluster.Transport { return nw })
}

// An IPv4-in-IPv6 address names the same listener as the IPv4 one, as the
// node takes them to name the same node.
func TestMappedAddressIsIPv4(t *testing.T) {
	nw := mem.NewNetwork()
	ln, err := nw.Listen("[::ffff:10.0.0.1]:7946")
	require.NoError(t, err)
	defer ln.Close()
	assert.Equal(t, "10.0.0.1:7946", ln.Addr().String())
	c, err := nw.Dial(context.Background(), "10.0.0.1:7946")
	require.NoError(t, err)
	defer c.Close()
	a, err := ln.Accept()
	require.NoError(t, err)
	defer a.Close()
	_, err = nw.Listen("10.0.0.1:7946")
	assert.Error(t, err, "the address is in use")
}

// A burst of dials to a listener that has not accepted any yet all succeed,
// as on a TCP listener with Linux's default backlog: 200 nodes that join one
// seed at once dial it at once. Each dialler writes who it is, which the
// buffered connection takes before anything accepts it.
func TestBurstOfDialsToASlowListener(t *testing.T) {
	const n = 1000
	nw := mem.NewNetwork()
	ln, err := nw.Listen("10.0.0.1:7946")
	require.NoError(t, err)
	defer ln.Close()

	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := nw.Dial(context.Background(), "10.0.0.1:7946")
			if err == nil {
				conns[i] = c
				_, err = c.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	failed := slices.DeleteFunc(slices.Clone(errs), func(err error) bool { return err == nil })
	require.Empty(t, failed, "%d of %d dials before any Accept failed", len(failed), n)

	// Only now does the listener accept: every dial is there, once.
	seen := make([]bool, n)
	for range n {
		c, err := ln.Accept()
		require.NoError(t, err)
		var id [4]byte
		_, err = io.ReadFull(c, id[:])
		require.NoError(t, err)
		c.Close()
		i := binary.BigEndian.Uint32(id[:])
		require.Less(t, i, uint32(n))
		require.False(t, seen[i], "dial %d accepted twice", i)
		seen[i] = true
	}
}

// A listener holds Backlog connections that it has not accepted, and refuses
// dials past them until Accept makes room.
func TestFullBacklogRefusesDials(t *testing.T) {
	nw := mem.NewNetwork()
	ln, err := nw.Listen("10.0.0.1:7946")
	require.NoError(t, err)
	defer ln.Close() // closes the dialled connections it holds
	var dialled []net.Conn
	defer func() {
		for _, c := range dialled {
			c.Close()
		}
	}()
	for i := range mem.Backlog {
		c, err := nw.Dial(context.Background(), "10.0.0.1:7946")
		require.NoError(t, err, "dial %d of a backlog of %d", i+1, mem.Backlog)
		dialled = append(dialled, c)
	}
	_, err = nw.Dial(context.Background(), "10.0.0.1:7946")
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "dial past a full backlog")

	a, err := ln.Accept()
	require.NoError(t, err)
	a.Close()
	c, err := nw.Dial(context.Background(), "10.0.0.1:7946")
	require.NoError(t, err, "dial once Accept made room")
	dialled = append(dialled, c)
}
