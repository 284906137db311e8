package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

var secret = cluster.WithSecret([]byte("correct horse battery staple, 32+ bytes"))

func TestNodesSharingASecretFormACluster(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ns := h.nodes(3, secret)
		mesh(t, ns...)
		require.NoError(t, ns[1].Send(remote(ns[2]), []byte("signed in")))
		assert.Equal(t, "signed in", string(receive(t, ns[2]).Payload))
	})
}

func TestNodesWithoutTheSameSecretRefuseEachOther(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a, b := h.node(secret, ev.Option()), h.node(secret)
		mesh(t, a, b)
		refused := caused(func(e cluster.Event) bool { return e.Kind == cluster.EventHandshakeFailed && !e.Dialled }, cluster.ErrAuth)
		strangers := 0
		for name, opts := range map[string][]cluster.Option{
			"no secret":    nil,
			"wrong secret": {cluster.WithSecret([]byte("a guess, long enough to be taken"))},
		} {
			stranger := h.node(opts...)
			// Dialling in: the cluster refuses and says why, once.
			err := stranger.Add(a.String())
			assert.ErrorIs(t, err, cluster.ErrAuth, name)
			strangers++
			clustertest.WaitCount(t, ev, strangers, refused)
			// Dialled: the cluster node refuses the stranger.
			err = a.Add(stranger.String())
			assert.ErrorIs(t, err, cluster.ErrAuth, name)

			assert.Empty(t, stranger.Remotes(), name)
			assert.Equal(t, names(b), remoteNames(a), name)
			select {
			case m := <-stranger.Inbox:
				t.Fatalf("%s: the stranger got %q", name, m.Payload)
			default:
			}
		}
	})
}

// TestStrangerLearnsNothingAndInjectsNothing plays a stranger by hand: over
// TLS, it sends a guessed proof, a hello and data; in the clear, a hello and
// data. It gets a preamble and a refusal, or a TLS alert, and nothing of the
// cluster; its data goes nowhere.
func TestStrangerLearnsNothingAndInjectsNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a, b := h.node(append(private(0), secret, ev.Option())...), h.node(append(private(1), secret)...)
		mesh(t, a, b)

		p := &rawPeer{enc: h.stack.codec.NewEncoder()}
		nonce := make([]byte, 16)
		rand.Read(nonce)
		out := wire.AppendPreamble(nil, h.stack.codec.Name())
		plain := p.frame(bytes.Clone(out), wire.KindHello, &wire.Hello{Addr: "127.0.0.1:1", Nonce: nonce, Join: true})
		out = p.frame(out, wire.KindAuth, &wire.Auth{Proof: cluster.NewSecret()})
		out = p.frame(out, wire.KindHello, &wire.Hello{Addr: "127.0.0.1:1", Nonce: nonce, Join: true})
		evil := append(wire.AppendHeader(nil, wire.KindData, 4), "evil"...)

		for _, overTLS := range []bool{true, false} {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			conn, err := h.transport().Dial(ctx, a.String())
			require.NoError(t, err)
			defer conn.Close()
			send := append(plain, evil...)
			if overTLS {
				cfg, err := cluster.NewSecureConfig()
				require.NoError(t, err)
				conn = tls.Client(conn, cfg)
				send = append(out, evil...)
			}
			go conn.Write(send)
			got, _ := io.ReadAll(conn)
			assert.Empty(t, leaks(got, a), "what the stranger got")
			if !overTLS {
				assert.Equal(t, []byte{21, 3, 3, 0, 2, 2, 40}, got, "a TLS alert, handshake failure")
				continue
			}
			br := bufio.NewReader(bytes.NewReader(got))
			_, err = wire.ReadPreamble(br)
			require.NoError(t, err)
			k, frame := readFrame(t, br)
			assert.Equal(t, wire.KindReject, k)
			var r wire.Reject
			require.NoError(t, h.stack.codec.NewDecoder().Decode(frame[wire.HeaderSize:], &r))
			assert.Equal(t, wire.RejectAuth, r.Code)
			_, err = br.ReadByte()
			assert.ErrorIs(t, err, io.EOF, "nothing after the refusal")
		}
		clustertest.WaitCount(t, ev, 2, caused(is(cluster.EventHandshakeFailed, nil), cluster.ErrAuth))
		assert.Equal(t, names(b), remoteNames(a))
		require.NoError(t, b.Send(remote(a), []byte("only friends")))
		assert.Equal(t, "only friends", string(receive(t, a).Payload))
	})
}

func TestShortSecretIsRefused(t *testing.T) {
	t.Parallel()
	for _, s := range [][]byte{{}, []byte("correct horse battery staple")} {
		_, err := cluster.NewNode("127.0.0.1:0", cluster.WithSecret(s))
		assert.ErrorIs(t, err, cluster.ErrShortSecret)
	}
}
