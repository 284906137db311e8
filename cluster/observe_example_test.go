package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// An Observer hears of everything that happens inside a node. This one
// prints the changes of membership, the peer lists and the goodbyes, and
// tells a remote that left from one that was lost by the cause of its
// removal.
func ExampleWithObserver() {
	network := mem.NewNetwork()
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	watch := cluster.ObserverFunc(func(e cluster.Event) {
		switch e.Kind {
		case cluster.EventAdded, cluster.EventPeerList, cluster.EventGoodbye:
			fmt.Println(e)
		case cluster.EventRemoved:
			fmt.Println(e)
			if errors.Is(e.Err, cluster.ErrLocalLeave) || errors.Is(e.Err, cluster.ErrRemoteLeave) {
				fmt.Println("  it left: nobody redials it")
			}
		}
	})
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network), cluster.WithObserver(watch))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.WaitMesh(ctx); err != nil { // until a's peer list came
		log.Fatal(err)
	}
	b.CloseRemote(cluster.Remote(*a.Addr()))
	// Output:
	// added 10.0.0.1:7946 (dialled)
	// peer list 10.0.0.1:7946 of 0
	// removed 10.0.0.1:7946: cluster: left the remote
	//   it left: nobody redials it
	// goodbye 10.0.0.1:7946
}

// Stats and RemoteStats say what crossed the node's connections, and what
// happened to them.
func ExampleNode_Stats() {
	network := mem.NewNetwork()
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network))
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	for _, m := range []string{"one", "two", "three"} {
		if err := b.Send(cluster.Remote(*a.Addr()), []byte(m)); err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		<-a.Inbox
	}

	rs, _ := a.RemoteStats(cluster.Remote(*b.Addr()))
	fmt.Printf("from %s: %d messages, %d bytes; dialled by a: %v\n", rs.Remote, rs.MessagesReceived, rs.BytesReceived, rs.Dialled)
	s := a.Stats()
	fmt.Printf("a: %d remote, %d messages received, %d handshake admitted\n", s.Remotes, s.MessagesReceived, s.Handshakes.Admitted)
	b.Close()
	// Output:
	// from 10.0.0.2:7946: 3 messages, 11 bytes; dialled by a: false
	// a: 1 remote, 3 messages received, 1 handshake admitted
}
