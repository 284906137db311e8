package cluster_test

import (
	"fmt"
	"log"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// A message handler takes messages on the connection's reader instead of
// Inbox. The payload is the node's until the call returns: keep a copy.
func ExampleWithMessageHandler() {
	network := mem.NewNetwork()
	got := make(chan string, 1)
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network),
		cluster.WithMessageHandler(func(from cluster.Remote, payload []byte) {
			got <- fmt.Sprintf("%s from %s", payload, from) // Sprintf copies
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	if err := b.Send(cluster.Remote(*a.Addr()), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-got)
	// Output:
	// hello from 10.0.0.2:7946
}
