package cluster_test

import (
	"bufio"
	"context"
	"crypto/rand"
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
			"wrong secret": {cluster.WithSecret([]byte("a guess"))},
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

// TestStrangerLearnsNothingAndInjectsNothing plays a stranger by hand: it
// skips the proof and sends data instead.
func TestStrangerLearnsNothingAndInjectsNothing(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(secret), h.node(secret)
		mesh(t, a, b)

		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		conn, err := h.transport().Dial(ctx, a.String())
		require.NoError(t, err)
		defer conn.Close()
		p := &rawPeer{conn: conn}
		p.enc = h.stack.codec.NewEncoder()
		nonce, challenge := make([]byte, 16), make([]byte, 32)
		rand.Read(nonce)
		rand.Read(challenge)
		out := wire.AppendPreamble(nil, h.stack.codec.Name())
		out = p.frame(out, wire.KindHello, &wire.Hello{Addr: "127.0.0.1:1", Nonce: nonce, Challenge: challenge, Join: true})
		out = p.frame(out, wire.KindData, nil)
		out = append(wire.AppendHeader(out, wire.KindData, 4), "evil"...)
		go conn.Write(out)

		// All the stranger gets is the node's hello and a close.
		br := bufio.NewReader(conn)
		_, err = wire.ReadPreamble(br)
		require.NoError(t, err)
		var kinds []wire.Kind
		for {
			hdr := make([]byte, wire.HeaderSize)
			if _, err := io.ReadFull(br, hdr); err != nil {
				break
			}
			k, size, err := wire.ParseHeader(hdr, 1<<20)
			require.NoError(t, err)
			kinds = append(kinds, k)
			_, err = br.Discard(size)
			require.NoError(t, err)
		}
		assert.Equal(t, []wire.Kind{wire.KindHello}, kinds)
		h.Logs.Wait(t, waitFor, "WARN", "bad handshake", "data frame where auth was due")
		assert.Equal(t, names(b), remoteNames(a))
		require.NoError(t, b.Send(remote(a), []byte("only friends")))
		assert.Equal(t, "only friends", string(receive(t, a).Payload))
	})
}

func TestEmptySecretIsRefused(t *testing.T) {
	t.Parallel()
	_, err := cluster.NewNode("127.0.0.1:0", cluster.WithSecret([]byte{}))
	assert.Error(t, err)
}
