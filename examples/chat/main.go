// Command chat shows peerweave at work.
//
// With no flags it runs a demo: four nodes in one process join through the
// first, chat, and one of them leaves.
//
//	go run ./examples/chat
//
// With -listen it is one chat node: lines typed on stdin go to every peer.
// Start several, each joining any one that runs:
//
//	go run ./examples/chat -listen 127.0.0.1:7000
//	go run ./examples/chat -listen 127.0.0.1:7001 -join 127.0.0.1:7000
//	go run ./examples/chat -listen 127.0.0.1:7002 -join 127.0.0.1:7001
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

func main() {
	listen := flag.String("listen", "", "run one interactive node listening on this address")
	join := flag.String("join", "", "address of a node to join")
	debug := flag.Bool("debug", false, "log connection events")
	flag.Parse()
	if *listen == "" {
		demo()
		return
	}
	interactive(*listen, *join, *debug)
}

// demo runs four nodes in this process.
func demo() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := []string{"ann", "bob", "cat", "dan"}
	nodes := make([]*cluster.Node, len(names))
	for i, name := range names {
		n, err := cluster.NewNode("127.0.0.1:0",
			cluster.WithRemoteRemoved(func(r cluster.Remote) { fmt.Printf("%s: %s left\n", name, r) }))
		if err != nil {
			log.Fatal(err)
		}
		nodes[i] = n
		fmt.Printf("%s listens on %s\n", name, n.Addr())
	}
	// Everyone joins ann; ann shares the rest, so all four meet.
	for _, n := range nodes[1:] {
		if err := n.Add(nodes[0].Addr().String()); err != nil {
			log.Fatal(err)
		}
	}
	for _, n := range nodes {
		waitFor(ctx, n, len(nodes)-1)
	}
	fmt.Printf("dan joined only ann, and knows %v\n", nodes[3].Remotes())

	for i, n := range nodes {
		n.Broadcast([]byte("hello from " + names[i]))
	}
	for i, n := range nodes {
		for range len(nodes) - 1 {
			m := <-n.Inbox
			fmt.Printf("%s got %q from %s\n", names[i], m.Payload, m.From)
		}
	}

	fmt.Println("dan leaves")
	nodes[3].Close()
	for _, n := range nodes[:3] {
		waitFor(ctx, n, len(nodes)-2)
	}
	fmt.Printf("ann now knows %v\n", nodes[0].Remotes())
	for _, n := range nodes[:3] {
		n.RemoteRemoved(nil)
	}
	for _, n := range nodes[:3] {
		n.Close()
	}
}

// waitFor waits until n has count remotes.
func waitFor(ctx context.Context, n *cluster.Node, count int) {
	err := n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == count })
	if err != nil {
		log.Fatalf("%s: waiting for %d remotes: %v", n, count, err)
	}
}

// interactive runs one node that chats over stdin and stdout.
func interactive(listen, join string, debug bool) {
	opts := []cluster.Option{
		cluster.WithRemoteAdded(func(r cluster.Remote) { fmt.Printf("* %s joined\n", r) }),
		cluster.WithRemoteRemoved(func(r cluster.Remote) { fmt.Printf("* %s left\n", r) }),
	}
	if debug {
		opts = append(opts, cluster.WithDebug())
	}
	n, err := cluster.NewNode(listen, opts...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("* listening on %s; type to chat, Ctrl-C to leave\n", n.Addr())
	if join != "" {
		if err := n.Add(join); err != nil {
			log.Fatal(err)
		}
	}
	go func() {
		for m := range n.Inbox {
			fmt.Printf("%s: %s\n", m.From, m.Payload)
		}
	}()
	go func() {
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			n.Broadcast(lines.Bytes())
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	n.Close()
}
