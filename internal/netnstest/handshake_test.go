package netnstest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/netnstest"
)

// TestTagsAtTheLimitFitTheHandshakeTimeout joins two nodes with tags at
// the default limit, 16 KiB each way, and a secret, over the 4 Mbit/s
// link: the handshake, up to its verdict, has to fit the acceptor's
// handshake timeout (the gate's, or the network timeout if shorter, here
// 400 ms), with TLS, proofs and both hellos.
func TestTagsAtTheLimitFitTheHandshakeTimeout(t *testing.T) {
	l := netnstest.Shaped(t, rate)
	tags := make(map[string]string)
	for i := range 512 { // 512 tags of 32 bytes: the default limit
		tags[fmt.Sprintf("key%05d", i)] = fmt.Sprintf("%024d", i)
	}
	secret := cluster.NewSecret()
	for name, tr := range transports {
		t.Run(name, func(t *testing.T) {
			for i := range runs() {
				node := func(ns *netnstest.Namespace, ip string) *cluster.Node {
					n, err := cluster.NewNode(ip+":0", cluster.WithTransport(ns.Transport(tr())),
						cluster.WithHealthyInterval(healthy), cluster.WithNetworkTimeout(timeout),
						cluster.WithTags(tags), cluster.WithSecret(secret))
					require.NoError(t, err)
					t.Cleanup(n.Close)
					return n
				}
				a, b := node(l.A, l.AddrA), node(l.B, l.AddrB)
				start := time.Now()
				require.NoError(t, a.Add(b.String()), "run %d", i)
				t.Logf("run %d: joined in %v", i, time.Since(start).Round(time.Millisecond))
				clustertest.WaitFullMesh(t, a, b)
				info, ok := a.Info(b.Self())
				assert.True(t, ok)
				assert.Equal(t, tags, info.Tags)
				a.Close()
				b.Close()
			}
		})
	}
}
