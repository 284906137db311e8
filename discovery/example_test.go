package discovery_test

import (
	"context"
	"fmt"
	"sync"
	"time"

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
	// Stop discovery once every node knows the other two.
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	for _, n := range nodes {
		if err := n.Wait(wait, func(rs []cluster.Remote) bool { return len(rs) == 2 }); err != nil {
			panic(err)
		}
	}
	cancel()
	wg.Wait()
	fmt.Println(nodes[2].Remotes())
	// Output: [10.0.0.1:7946 10.0.0.2:7946]
}
