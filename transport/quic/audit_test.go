package quic_test

import (
	"context"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/transporttest"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./transport/quic that no other test checked when they were
// written.

// auditConnect dials ln at raddr with tr and returns both ends, closed
// when the test ends, after a message each way.
func auditConnect(t *testing.T, tr *quic.Transport, ln net.Listener, raddr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := tr.Dial(ctx, raddr)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	a, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	for _, p := range [][2]net.Conn{{d, a}, {a, d}} {
		_, err := p[0].Write([]byte("ping"))
		require.NoError(t, err)
		p[1].SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, 4)
		_, err = io.ReadFull(p[1], got)
		require.NoError(t, err)
		require.Equal(t, "ping", string(got))
	}
}

// The handshake timeout and the linger default to the node's default
// network timeout.
func TestAuditDefaultsAreTheNodesNetworkTimeout(t *testing.T) {
	assert.Equal(t, cluster.DefaultNetworkTimeout, quic.DefaultHandshakeTimeout)
	assert.Equal(t, cluster.DefaultNetworkTimeout, quic.DefaultLinger)
}

// WithTLS replaces NextProtos by Protocol: two ends whose configurations
// name protocols that do not match still connect, and the configurations
// passed in are the caller's still.
func TestAuditWithTLSNegotiatesProtocolWhateverNextProtosSays(t *testing.T) {
	ca := transporttest.NewCA(t)
	server, client := ca.Config(t), ca.Config(t)
	server.NextProtos, client.NextProtos = []string{"h3"}, []string{"smtp"}
	ln, err := quic.New(quic.WithTLS(server)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	auditConnect(t, quic.New(quic.WithTLS(client)), ln, ln.Addr().String())
	assert.Equal(t, []string{"smtp"}, client.NextProtos, "the caller's configuration changed")
}

// A host name in Dial's address is looked up.
func TestAuditDialLooksUpAHostName(t *testing.T) {
	ln, err := quic.New().Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	if addrs, err := net.LookupHost("localhost"); err != nil || !slices.Contains(addrs, "127.0.0.1") {
		t.Skipf("localhost does not resolve to 127.0.0.1 here: %v %v", addrs, err)
	}
	auditConnect(t, quic.New(), ln, net.JoinHostPort("localhost", port))
}

// UDP has no refusal: a Dial where nothing listens fails only when its
// context ends.
func TestAuditDialWhereNothingListensFailsWhenItsContextEnds(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := pc.LocalAddr().String()
	require.NoError(t, pc.Close())
	tr := quic.New()
	const wait = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	start := time.Now()
	c, err := tr.Dial(ctx, dead)
	if err == nil {
		c.Close()
	}
	require.Error(t, err)
	assert.GreaterOrEqual(t, time.Since(start), wait, "the dial failed before its context ended: %v", err)
}

// Dial returns once the node's listener has the connection: Accept
// returns it before the dialler writes anything.
func TestAuditDialReturnsOnceTheListenerHasTheConnection(t *testing.T) {
	ln, err := quic.New().Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := quic.New().Dial(ctx, ln.Addr().String())
	require.NoError(t, err)
	defer d.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	select {
	case c, ok := <-accepted:
		require.True(t, ok, "Accept failed")
		c.Close()
	case <-time.After(10 * time.Second):
		ln.Close()
		<-accepted
		t.Fatal("Accept did not return a dialled connection on which nothing was written")
	}
}
