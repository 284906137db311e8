package tcp_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/tcp"
	"github.com/peerweave/peerweave/transport/transporttest"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./transport/tcp that no other test checked when they were
// written.

// auditPair returns a dialled and an accepted connection between dialler
// and a listener of acceptor on loopback, closed when the test ends, with
// the accepted end's TLS handshake done if it has one.
func auditPair(t *testing.T, dialler, acceptor transport.Transport) (dialled, accepted net.Conn) {
	t.Helper()
	ln, err := acceptor.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(got)
			return
		}
		if h, ok := c.(interface{ Handshake() error }); ok {
			h.Handshake()
		}
		got <- c
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	dialled, err = dialler.Dial(ctx, ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { dialled.Close() })
	accepted = <-got
	require.NotNil(t, accepted)
	t.Cleanup(func() { accepted.Close() })
	return dialled, accepted
}

// WithTLS(nil) is plain TCP: it reaches a plain listener, and its
// connections are sockets, not TLS.
func TestAuditWithTLSOfNilIsPlainTCP(t *testing.T) {
	t.Parallel()
	d, acc := auditPair(t, tcp.New(tcp.WithTLS(nil)), tcp.New())
	_, isTLS := d.(interface{ ConnectionState() tls.ConnectionState })
	assert.False(t, isTLS, "a dialled connection of WithTLS(nil) is TLS")
	_, err := d.Write([]byte("plain"))
	require.NoError(t, err)
	got := make([]byte, 5)
	_, err = io.ReadFull(acc, got)
	require.NoError(t, err)
	assert.Equal(t, "plain", string(got))
}

// A Transport is safe for use by several nodes: two nodes on one form a
// cluster.
func TestAuditOneTransportServesSeveralNodes(t *testing.T) {
	t.Parallel()
	tr := tcp.New()
	var nodes []*cluster.Node
	for range 3 {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(tr))
		require.NoError(t, err)
		t.Cleanup(n.Close)
		nodes = append(nodes, n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, n := range nodes[1:] {
		require.NoError(t, n.AddContext(ctx, nodes[0].String()))
	}
	for _, n := range nodes {
		require.NoError(t, n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == len(nodes)-1 }))
	}
}

// Both ends of a connection are transport.Unacked and
// transport.HalfCloser, with and without TLS.
func TestAuditBothEndsAreUnackedAndHalfClosers(t *testing.T) {
	t.Parallel()
	for _, tr := range transports(t) {
		d, acc := auditPair(t, tr, tr)
		for _, c := range []net.Conn{d, acc} {
			_, ok := c.(transport.Unacked)
			assert.True(t, ok, "%T is not Unacked", c)
			_, ok = c.(transport.HalfCloser)
			assert.True(t, ok, "%T is not a HalfCloser", c)
		}
	}
}

// Dial completes the TLS handshake within ctx: a listener that accepts
// and never answers holds it only until ctx ends.
func TestAuditDialBoundsTheTLSHandshakeByItsContext(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c // accepted, and never answered
		}
		close(held)
	}()
	tr := tcp.New(tcp.WithTLS(transporttest.NewCA(t).Config(t)))
	const wait = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	start := time.Now()
	c, err := tr.Dial(ctx, ln.Addr().String())
	took := time.Since(start)
	if err == nil {
		c.Close()
	}
	assert.Error(t, err)
	assert.Less(t, took, wait+5*time.Second, "the handshake outlived its context")
	if c, ok := <-held; ok {
		c.Close()
	}
}
