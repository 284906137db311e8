package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
)

// The examples run on an in-memory network, where nodes listen on addresses
// of their choosing; on TCP, listen on "127.0.0.1:0" with New and use Addr.

// Two nodes: b joins a, waits until it has met every node a knows, and sends
// a a message.
func Example() {
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
	defer b.Close()

	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.WaitMesh(ctx); err != nil {
		log.Fatal(err)
	}

	if err := b.Send(cluster.Remote(*a.Addr()), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	m := <-a.Inbox
	fmt.Printf("%s from %s\n", m.Payload, m.From)
	fmt.Println("a knows", a.Remotes())
	// Output:
	// hello from 10.0.0.2:7946
	// a knows [10.0.0.2:7946]
}

// Joining is transitive: c adds only b, which knows a. Once WaitMesh returns,
// c is connected to a too, and can send to it.
func ExampleNode_WaitMesh() {
	network := mem.NewNetwork()
	var nodes []*cluster.Node
	for _, addr := range []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946"} {
		n, err := cluster.NewNode(addr, cluster.WithTransport(network))
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	a, b, c := nodes[0], nodes[1], nodes[2]

	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	if err := c.Add(b.String()); err != nil { // b's peer list names a
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitMesh(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("c knows", c.Remotes())

	if err := c.Send(cluster.Remote(*a.Addr()), []byte("hello a")); err != nil {
		log.Fatal(err)
	}
	m := <-a.Inbox
	fmt.Printf("a got %q from %s\n", m.Payload, m.From)
	// Output:
	// c knows [10.0.0.1:7946 10.0.0.2:7946]
	// a got "hello a" from 10.0.0.3:7946
}

// a waits until both b and c are its remotes, though c joined through b and a
// never added anyone.
func ExampleNode_Wait() {
	network := mem.NewNetwork()
	var nodes []*cluster.Node
	for _, addr := range []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946"} {
		n, err := cluster.NewNode(addr, cluster.WithTransport(network))
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	if err := c.Add(b.String()); err != nil {
		log.Fatal(err)
	}

	want := []cluster.Remote{cluster.Remote(*b.Addr()), cluster.Remote(*c.Addr())}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := a.Wait(ctx, func(rs []cluster.Remote) bool {
		for _, r := range want {
			if !slices.ContainsFunc(rs, r.Equal) {
				return false
			}
		}
		return true
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a knows", a.Remotes())
	// Output:
	// a knows [10.0.0.2:7946 10.0.0.3:7946]
}

// Close leaves the cluster gracefully: both sides' RemoteRemoved fire, and
// the node that stays has no reason to redial the one that left.
func ExampleNode_Close() {
	network := mem.NewNetwork()
	lost := make(chan string, 10) // room for every event: callbacks must not block Close
	start := func(addr, name string) *cluster.Node {
		n, err := cluster.NewNode(addr,
			cluster.WithTransport(network),
			cluster.WithRemoteRemoved(func(r cluster.Remote) { lost <- name + " lost " + r.String() }),
		)
		if err != nil {
			log.Fatal(err)
		}
		return n
	}
	a := start("10.0.0.1:7946", "a")
	defer a.Close()
	b := start("10.0.0.2:7946", "b")
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}

	b.Close() // says goodbye to a and waits for its answer
	events := []string{<-lost, <-lost}
	slices.Sort(events) // the two nodes' callbacks run on goroutines of their own
	fmt.Println(events)
	fmt.Println("a knows", a.Remotes())
	_, open := <-b.Inbox
	fmt.Println("b's Inbox open:", open)
	// Output:
	// [a lost 10.0.0.2:7946 b lost 10.0.0.1:7946]
	// a knows []
	// b's Inbox open: false
}

// a leaves b gracefully. b hears of it at once and does not redial a, and a
// peer list that names b does not bring b back to a: only Add does.
func ExampleNode_CloseRemote() {
	network := mem.NewNetwork()
	left := make(chan cluster.Remote, 10) // room for every event: callbacks must not block Close
	start := func(addr string, opts ...cluster.Option) *cluster.Node {
		n, err := cluster.NewNode(addr, append(opts, cluster.WithTransport(network))...)
		if err != nil {
			log.Fatal(err)
		}
		return n
	}
	a := start("10.0.0.1:7946")
	defer a.Close()
	b := start("10.0.0.2:7946", cluster.WithRemoteRemoved(func(r cluster.Remote) { left <- r }))
	defer b.Close()
	c := start("10.0.0.3:7946")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range []*cluster.Node{b, c} {
		if err := n.Add(a.String()); err != nil {
			log.Fatal(err)
		}
		if err := n.WaitMesh(ctx); err != nil {
			log.Fatal(err)
		}
	}

	a.CloseRemote(cluster.Remote(*b.Addr()))
	fmt.Println("b lost", <-left)

	// d joins b and meets c through b's peer list; c tells a, which it
	// joined, of d. Peer lists that name b reach a (every node sends its
	// list to one remote each healthy interval), but do not bring b back.
	d := start("10.0.0.4:7946")
	defer d.Close()
	if err := d.Add(b.String()); err != nil {
		log.Fatal(err)
	}
	if err := d.WaitMesh(ctx); err != nil {
		log.Fatal(err)
	}
	if err := a.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 2 }); err != nil {
		log.Fatal(err)
	}
	fmt.Println("a knows", a.Remotes())
	fmt.Println("b knows", b.Remotes())

	if err := a.Add(b.String()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Add, a knows", a.Remotes())
	// Output:
	// b lost 10.0.0.1:7946
	// a knows [10.0.0.3:7946 10.0.0.4:7946]
	// b knows [10.0.0.3:7946 10.0.0.4:7946]
	// after Add, a knows [10.0.0.2:7946 10.0.0.3:7946 10.0.0.4:7946]
}

// A remote cut off without a word is removed ungracefully, within the healthy
// interval plus the network timeout, and redialled every reconnect interval
// until it answers again. transport/fault cuts it off here; the short
// intervals make the example quick.
func Example_ungracefulLeave() {
	network, faults := mem.NewNetwork(), fault.NewNetwork()
	events := make(chan string, 10)
	start := func(addr string, opts ...cluster.Option) *cluster.Node {
		n, err := cluster.NewNode(addr, append(opts,
			cluster.WithTransport(faults.Wrap(network)), // each node wraps its own
			cluster.WithHealthyInterval(100*time.Millisecond),
			cluster.WithNetworkTimeout(time.Second),
			cluster.WithReconnectInterval(100*time.Millisecond),
		)...)
		if err != nil {
			log.Fatal(err)
		}
		return n
	}
	a := start("10.0.0.1:7946")
	defer a.Close()
	b := start("10.0.0.2:7946",
		cluster.WithRemoteAdded(func(r cluster.Remote) { events <- "b added " + r.String() }),
		cluster.WithRemoteRemoved(func(r cluster.Remote) { events <- "b removed " + r.String() }),
	)
	defer b.Close()
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-events)

	faults.Isolate(a.String()) // nothing gets through to or from a
	fmt.Println(<-events)
	faults.Heal()
	fmt.Println(<-events)
	// Output:
	// b added 10.0.0.1:7946
	// b removed 10.0.0.1:7946
	// b added 10.0.0.1:7946
}

// Every node of a cluster uses the same codec, here MessagePack, and a
// transport of its choice, here an in-memory network. A node with another
// codec is refused.
func ExampleWithCodec() {
	network := mem.NewNetwork()
	opts := []cluster.Option{cluster.WithTransport(network), cluster.WithCodec(msgpack.Codec{})}
	a, err := cluster.NewNode("10.0.0.1:7946", opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.NewNode("10.0.0.2:7946", opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("b knows", b.Remotes())

	g, err := cluster.NewNode("10.0.0.3:7946", cluster.WithTransport(network)) // gob, the default
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	err = g.Add(a.String())
	fmt.Println("gob node refused:", errors.Is(err, cluster.ErrIncompatible))
	// Output:
	// b knows [10.0.0.1:7946]
	// gob node refused: true
}
