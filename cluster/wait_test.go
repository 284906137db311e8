package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

func TestWaitMeshLetsAJoinerSendToEveryone(t *testing.T) {
	nw := mem.NewNetwork()
	var ns []*cluster.Node
	for i := 0; i < 5; i++ {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(nw))
		require.NoError(t, err)
		t.Cleanup(n.Close)
		ns = append(ns, n)
	}
	for _, n := range ns[1:5] {
		require.NoError(t, n.Add(ns[0].String()))
		require.NoError(t, n.WaitMesh(context.Background()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 50; i++ {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(nw))
		require.NoError(t, err)
		require.NoError(t, n.Add(ns[0].String()))
		require.NoError(t, n.WaitMesh(ctx))
		for _, m := range ns[:5] {
			require.NoError(t, n.Send(cluster.Remote(*m.Addr()), []byte("x")), i)
		}
		n.Close()
		for _, m := range ns[:5] {
			require.NoError(t, m.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 4 }))
		}
	}
}
