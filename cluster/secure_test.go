package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// What the tests below look for in bytes that should not show them.
var (
	secretName  = "node-name-that-must-stay-private"
	secretLabel = "cluster-label-that-must-stay-private"
	secretTag   = "tag-value-that-must-stay-private"
	secretData  = "payload-that-must-stay-private"
)

// private returns the options of a node whose identity the tests look for.
func private(i int) []cluster.Option {
	return []cluster.Option{
		cluster.WithName(secretName + string(rune('a'+i))), cluster.WithLabel(secretLabel),
		cluster.WithTags(map[string]string{"role": secretTag}),
	}
}

// leaks returns the private strings, and the node's address, that b shows.
func leaks(b []byte, n *cluster.Node) []string {
	var found []string
	for _, s := range []string{secretName, secretLabel, secretTag, secretData, n.String()} {
		if bytes.Contains(b, []byte(s)) {
			found = append(found, s)
		}
	}
	return found
}

// wiretap records every byte the connections of the transports it taps
// carry, both ways, as a tap on the network would.
type wiretap struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	conns []*tapConn // dialled
	flip  int        // if positive, a dialled connection's byte at this offset is flipped
}

// on returns tr tapped.
func (w *wiretap) on(tr cluster.Transport) cluster.Transport { return &tap{tr, w} }

func (w *wiretap) record(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
}

func (w *wiretap) seen() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

// tap is a transport whose connections a wiretap records.
type tap struct {
	cluster.Transport
	w *wiretap
}

func (t *tap) Listen(laddr string) (net.Listener, error) {
	ln, err := t.Transport.Listen(laddr)
	if err != nil {
		return nil, err
	}
	return tapListener{ln, t.w}, nil
}

func (t *tap) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, raddr)
	if err != nil {
		return nil, err
	}
	tc := &tapConn{Conn: c, t: t.w}
	t.w.mu.Lock()
	t.w.conns = append(t.w.conns, tc)
	tc.flip = t.w.flip
	t.w.mu.Unlock()
	return tc, nil
}

// dialled returns the connections dialled so far.
func (w *wiretap) dialled() []*tapConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conns
}

type tapListener struct {
	net.Listener
	t *wiretap
}

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tapConn{Conn: c, t: l.t}, nil
}

// tapConn records what it carries. Its writes are whole, under a mutex, so
// that replay can put a copy of the last one between two of them.
type tapConn struct {
	net.Conn
	t    *wiretap
	mu   sync.Mutex
	last []byte
	flip int // the offset in the stream written of a byte to flip, if positive
	sent int
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.record(b[:n])
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.t.record(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = bytes.Clone(b)
	if at := c.flip - c.sent; c.flip > 0 && at >= 0 && at < len(b) {
		c.last[at] ^= 0x20
	}
	c.sent += len(b)
	return c.Conn.Write(c.last)
}

// replay writes the last write again: a relay that injects a recorded frame.
func (c *tapConn) replay() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.last)
	return err
}

// TestWiretapSeesNothingOfASecretCluster taps every connection of a cluster
// and finds none of its names, label, tags, addresses or payloads, while the
// same tap on a cluster without a secret reads them all.
func TestWiretapSeesNothingOfASecretCluster(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		for _, secretly := range []bool{true, false} {
			wire := new(wiretap)
			var ns []*cluster.Node
			for i := range 3 {
				opts := append(private(i), cluster.WithTransport(wire.on(h.Faults.Wrap(h.transport()))))
				if secretly {
					opts = append(opts, secret)
				}
				ns = append(ns, h.node(opts...))
			}
			mesh(t, ns...)
			require.NoError(t, ns[0].Send(remote(ns[1]), []byte(secretData)))
			assert.Equal(t, secretData, string(receive(t, ns[1]).Payload))
			if secretly {
				assert.Empty(t, leaks(wire.seen(), ns[0]), "what the tap read of a secret cluster")
			} else {
				assert.Len(t, leaks(wire.seen(), ns[0]), 5, "what the tap read of an open cluster")
			}
		}
	})
}

// attackerTLS is the TLS configuration of an attacker: any certificate
// passes, as nodes present throwaway ones.
func attackerTLS(t *testing.T) *tls.Config {
	t.Helper()
	cfg, err := cluster.NewSecureConfig()
	require.NoError(t, err)
	return cfg
}

// readFrame reads a frame from r and returns it whole, header included.
func readFrame(t *testing.T, r *bufio.Reader) (wire.Kind, []byte) {
	t.Helper()
	hdr := make([]byte, wire.HeaderSize)
	_, err := io.ReadFull(r, hdr)
	require.NoError(t, err)
	k, size, err := wire.ParseHeader(hdr, 1<<20)
	require.NoError(t, err)
	body := make([]byte, size)
	_, err = io.ReadFull(r, body)
	require.NoError(t, err)
	return k, append(hdr, body...)
}

// TestReflectionFails plays a stranger that a member dials (a stale seed):
// it takes the member's proof and hands it back, on the member's own
// connection as the acceptor's proof, and on a connection of its own to the
// member as a dialler's. Both fail, count as authentication failures, and
// the stranger learns nothing of the cluster.
func TestReflectionFails(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		m := h.node(append(private(0), secret, ev.Option())...)
		ln, err := h.transport().Listen("127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		added := make(chan error, 1)
		go func() { added <- m.Add(ln.Addr().String()) }()

		raw, err := ln.Accept()
		require.NoError(t, err)
		defer raw.Close()
		in := tls.Server(raw, attackerTLS(t))
		require.NoError(t, in.Handshake())
		r := bufio.NewReader(in)
		pre, err := wire.ReadPreamble(r)
		require.NoError(t, err)
		k, proof := readFrame(t, r)
		require.Equal(t, wire.KindAuth, k)

		// The member's proof, as a dialler's, on a connection of ours.
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		raw2, err := h.transport().Dial(ctx, m.String())
		require.NoError(t, err)
		defer raw2.Close()
		out := tls.Client(raw2, attackerTLS(t))
		_, err = out.Write(append(pre.Append(nil), proof...))
		require.NoError(t, err)
		got, _ := io.ReadAll(out)
		assert.Empty(t, leaks(got, m), "what the member told the stranger")
		r2 := bufio.NewReader(bytes.NewReader(got))
		_, err = wire.ReadPreamble(r2)
		require.NoError(t, err)
		k, _ = readFrame(t, r2)
		assert.Equal(t, wire.KindReject, k)

		// The member's proof handed back on its own connection.
		_, err = in.Write(append(pre.Append(nil), proof...))
		require.NoError(t, err)
		assert.ErrorIs(t, <-added, cluster.ErrAuth)
		rest, _ := io.ReadAll(r)
		assert.Empty(t, rest, "the member sends nothing after a bad proof")

		clustertest.WaitCount(t, ev, 2, caused(is(cluster.EventHandshakeFailed, nil), cluster.ErrAuth))
		assert.Equal(t, uint64(2), m.Stats().Handshakes.Auth)
		assert.Empty(t, m.Remotes())
	})
}

// TestRelayThatAltersBytesFails plays a relay on the path between two
// members: it flips a byte of the TLS handshake, and later replays a
// record. Either fails TLS's checks, counts as an authentication failure,
// and delivers nothing twice.
func TestRelayThatAltersBytesFails(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		evA, evB := newEvents(), newEvents()
		a := h.node(secret, evA.Option())
		relay := &wiretap{flip: 20} // in the ClientHello's random
		b := h.node(secret, evB.Option(), cluster.WithTransport(relay.on(h.Faults.Wrap(h.transport()))))
		assert.ErrorIs(t, b.Add(a.String()), cluster.ErrAuth)
		evA.Wait(t, "a failed handshake", caused(is(cluster.EventHandshakeFailed, nil), cluster.ErrAuth))
		assert.Equal(t, uint64(1), a.Stats().Handshakes.Auth)
		assert.Equal(t, uint64(1), b.Stats().Handshakes.Auth)

		relay.mu.Lock()
		relay.flip = 0
		relay.mu.Unlock()
		require.NoError(t, b.Add(a.String()))
		require.NoError(t, b.Send(remote(a), []byte("once")))
		assert.Equal(t, "once", string(receive(t, a).Payload))
		conns := relay.dialled()
		require.NoError(t, conns[len(conns)-1].replay())
		removed := evA.Wait(t, "b removed", is(cluster.EventRemoved, b))
		assert.ErrorIs(t, removed.Err, cluster.ErrAuth)

		waitMesh(t, a, b)
		require.NoError(t, b.Send(remote(a), []byte("after")))
		assert.Equal(t, "after", string(receive(t, a).Payload), "nothing twice")
	})
}
