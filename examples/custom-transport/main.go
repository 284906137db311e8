// Command custom-transport runs a few nodes on a transport written outside
// the library: Unix domain sockets (unix.go), so that nodes on one host
// talk without TCP. It shows them meet, exchange messages, and leave.
//
//	go run ./examples/custom-transport
//
// unix_test.go checks the transport with transporttest in one line.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

func main() {
	dir, err := os.MkdirTemp("", "peerweave-unix-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	transport := Unix{Dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	names := []string{"ann", "bob", "cat"}
	nodes := make([]*cluster.Node, len(names))
	for i, name := range names {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(transport))
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		nodes[i] = n
		fmt.Printf("%s listens on %s, the socket %s\n", name, n.Addr(), transport.path(n.Addr().AddrPort()))
	}

	// bob and cat join ann, and so meet each other.
	for _, n := range nodes[1:] {
		if err := n.Add(nodes[0].String()); err != nil {
			log.Fatal(err)
		}
	}
	for _, n := range nodes {
		waitFor(ctx, n, len(nodes)-1)
	}
	fmt.Printf("cat knows %v\n", nodes[2].Remotes())

	for i, n := range nodes {
		n.Broadcast([]byte("hello from " + names[i]))
	}
	for i, n := range nodes {
		for range len(nodes) - 1 {
			select {
			case m := <-n.Inbox:
				fmt.Printf("%s got %q from %s\n", names[i], m.Payload, m.From)
			case <-time.After(10 * time.Second):
				log.Fatalf("%s got no message", names[i])
			}
		}
	}

	fmt.Println("cat leaves")
	nodes[2].Close()
	for _, n := range nodes[:2] {
		waitFor(ctx, n, 1)
	}
	fmt.Printf("ann knows %v\n", nodes[0].Remotes())
}

// waitFor waits until n has count remotes, and gives up when ctx ends.
func waitFor(ctx context.Context, n *cluster.Node, count int) {
	if err := n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == count }); err != nil {
		log.Fatal(err)
	}
}
