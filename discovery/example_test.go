package discovery_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/discovery"
	"github.com/peerweave/peerweave/transport/mem"
)

// Three nodes that share a seed list, and are never told of each other
// otherwise, form a mesh.
func ExampleJoin() {
	network := mem.NewNetwork()
	seeds := discovery.Static("10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946")
	var nodes []*cluster.Node
	for _, addr := range []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946"} {
		n, err := cluster.NewNode(addr, cluster.WithTransport(network))
		if err != nil {
			panic(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { discovery.Join(ctx, n, seeds) })
	}
	// Wait until every node has joined the other two: until then, a
	// connection may be half made, and stopping Join would abandon it.
	for _, n := range nodes {
		n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 2 })
	}
	cancel()
	wg.Wait()
	fmt.Println(nodes[2].Remotes())
	// Output: [10.0.0.1:7946 10.0.0.2:7946]
}
