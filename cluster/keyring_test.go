package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/mem"
)

// TestSecretRotationWithoutDowntime rotates a running cluster of four from
// one secret to another, one node at a time, in the three rounds the
// package documentation gives. After every step a fresh node with the
// keyring of that step joins the cluster, dialled by a node that has yet to
// take the step (or has, in the last step of a round) and dialling the
// others, and leaves again: new handshakes succeed at every step, in both
// directions, and no member refuses or loses another. Once the old secret
// is retired, a node that knows only it is refused, while the connections
// made with it stay.
func TestSecretRotationWithoutDowntime(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		old := []byte("the old secret, 32 bytes or more.")
		next := []byte("the new secret, 32 bytes or more.")
		recs := make([]*recorder, 4)
		members := make([]*cluster.Node, 4)
		for i := range members {
			recs[i] = newRecorder()
			// With the default network timeout: a handshake that a
			// loaded machine timed out would log the warning this
			// test counts.
			members[i] = h.node(append(recs[i].Options(), clustertest.Patient(), cluster.WithSecret(old))...)
		}
		mesh(t, members...)

		rounds := []struct {
			name     string
			primary  []byte
			accepted [][]byte
		}{
			{"accept the new secret", old, [][]byte{next}},
			{"prove with the new secret", next, [][]byte{old}},
			{"retire the old secret", next, nil},
		}
		// Traffic all along, on connections made with the old secret.
		stop, sent := make(chan struct{}), make(chan int)
		go func() {
			n := 0
			defer func() { sent <- n }()
			pace := time.NewTicker(time.Millisecond)
			defer pace.Stop()
			for {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				if members[0].Send(remote(members[3]), []byte("during rotation")) != nil {
					return
				}
				n++
			}
		}()
		for _, round := range rounds {
			for i, m := range members {
				step := fmt.Sprintf("%s, step %d", round.name, i+1)
				require.NoError(t, m.SetSecrets(round.primary, round.accepted...), step)

				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				defer cancel()
				fresh := h.node(clustertest.Patient(), cluster.WithSecrets(round.primary, round.accepted...))
				require.NoError(t, members[(i+1)%len(members)].Add(fresh.String()), step)
				require.NoError(t, fresh.WaitMesh(ctx), step)
				waitRemotes(t, fresh, members...)
				fresh.Close()
				// No refusal of any kind, and no remote lost.
				assert.Empty(t, h.Logs.Find("WARN"), step)
			}
		}

		close(stop)
		for range <-sent {
			assert.Equal(t, "during rotation", string(receive(t, members[3]).Payload))
		}

		stranger := h.node(cluster.WithSecret(old))
		assert.ErrorIs(t, stranger.Add(members[0].String()), cluster.ErrAuth)
		h.Logs.Wait(t, waitFor, "WARN", "authentication failed", "node="+members[0].String())
		assert.ErrorIs(t, members[1].Add(stranger.String()), cluster.ErrAuth)
		h.Logs.Wait(t, waitFor, "WARN", "authentication failed", "node="+stranger.String())

		waitMesh(t, members...)
		for i, m := range members {
			for _, o := range others(m, members) {
				assert.Equal(t, []string{"+" + o.String()}, recs[i].History(o.String()), "%s about %s", m, o)
			}
		}
		assert.Empty(t, stranger.Remotes())
	})
}

func TestSecretsAreCheckedAndKeepTheirMode(t *testing.T) {
	h := newHarness(t, memStack())
	key := func(c byte) []byte { return bytes.Repeat([]byte{c}, cluster.MinSecretSize) }
	short := key('s')[1:]
	for name, opt := range map[string]cluster.Option{
		"no primary":             cluster.WithSecrets(nil, key('a')),
		"empty primary":          cluster.WithSecrets([]byte{}, key('a')),
		"short primary":          cluster.WithSecrets(short, key('a')),
		"empty accepted secret":  cluster.WithSecrets(key('p'), []byte{}),
		"short accepted secret":  cluster.WithSecrets(key('p'), short),
		"empty secret, as ever":  cluster.WithSecret([]byte{}),
		"a one-byte secret":      cluster.WithSecret([]byte{'x'}),
		"empty secret after one": cluster.WithSecrets(key('p'), key('b'), nil),
	} {
		_, err := cluster.NewNode("127.0.0.1:0", h.Options(opt)...)
		assert.ErrorIs(t, err, cluster.ErrShortSecret, name)
	}

	open := h.node()
	assert.Error(t, open.SetSecrets(key('s')), "a node without a secret gets none")
	closed := h.node(cluster.WithSecret(key('s')))
	assert.Error(t, closed.SetSecrets(nil), "a node with a secret keeps one")
	assert.ErrorIs(t, closed.SetSecrets(key('s'), []byte{}), cluster.ErrShortSecret)
	assert.ErrorIs(t, closed.SetSecrets(short), cluster.ErrShortSecret)

	// The refused changes changed nothing, and the last of WithSecret and
	// WithSecrets wins.
	a := h.node(cluster.WithSecrets(key('o'), key('s')), cluster.WithSecret(key('x')))
	assert.ErrorIs(t, closed.Add(a.String()), cluster.ErrAuth)
	b := h.node(cluster.WithSecret(key('x')), cluster.WithSecrets(key('s')))
	assert.NoError(t, closed.Add(b.String()))
	assert.NoError(t, open.Add(h.node().String()))
}

func TestNewSecretIsRandomAndLongEnough(t *testing.T) {
	t.Parallel()
	a, b := cluster.NewSecret(), cluster.NewSecret()
	assert.Len(t, a, cluster.MinSecretSize)
	assert.NotEqual(t, a, b)
	n, err := cluster.NewNode("127.0.0.1:0", cluster.WithSecret(a), cluster.WithTransport(mem.NewNetwork()))
	require.NoError(t, err)
	n.Close()
}
