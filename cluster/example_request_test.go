package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/transport/mem"
)

// meshOf starts a node on network at each address, joined to the first, and
// waits until they form a full mesh.
func meshOf(network *mem.Network, addrs []string, opts ...cluster.Option) []*cluster.Node {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ns []*cluster.Node
	for _, addr := range addrs {
		n, err := cluster.NewNode(addr, append([]cluster.Option{cluster.WithTransport(network)}, opts...)...)
		if err != nil {
			log.Fatal(err)
		}
		if len(ns) > 0 {
			if err := n.AddContext(ctx, ns[0].String()); err != nil {
				log.Fatal(err)
			}
		}
		ns = append(ns, n)
	}
	for _, n := range ns {
		if err := n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == len(ns)-1 }); err != nil {
			log.Fatal(err)
		}
	}
	return ns
}

// a answers requests with their payload in upper case; b asks it. A remote
// that answers with an error gives a *RemoteError; one without a handler,
// ErrNoHandler.
func ExampleNode_Request() {
	network := mem.NewNetwork()
	upper := func(_ context.Context, req *cluster.Message) ([]byte, error) {
		if len(req.Payload) == 0 {
			return nil, errors.New("nothing to shout")
		}
		return []byte(strings.ToUpper(string(req.Payload))), nil
	}
	ns := meshOf(network, []string{"10.0.0.1:7946", "10.0.0.2:7946"}, cluster.WithRequestHandler(upper))
	a, b := ns[0], ns[1]
	defer a.Close()
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := b.Request(ctx, cluster.Remote(*a.Addr()), []byte("hello"))
	fmt.Printf("%s %v\n", reply, err)

	_, err = b.Request(ctx, cluster.Remote(*a.Addr()), nil)
	var re *cluster.RemoteError
	if errors.As(err, &re) {
		fmt.Printf("%s said: %s\n", re.Remote, re.Text)
	}

	b.SetRequestHandler(nil)
	_, err = a.Request(ctx, cluster.Remote(*b.Addr()), []byte("hello"))
	fmt.Println(errors.Is(err, cluster.ErrNoHandler))
	// Output:
	// HELLO <nil>
	// 10.0.0.1:7946 said: nothing to shout
	// true
}

// A query asks every remote at once and ends as soon as the last has
// answered, however long its context would allow.
func ExampleNode_Query() {
	network := mem.NewNetwork()
	whoami := func(ctx context.Context, req *cluster.Message) ([]byte, error) {
		return []byte("here"), nil
	}
	ns := meshOf(network, []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946", "10.0.0.4:7946"},
		cluster.WithRequestHandler(whoami))
	for _, n := range ns {
		defer n.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var lines []string
	for ans := range ns[0].Query(ctx, []byte("roll call")).Answers() {
		lines = append(lines, fmt.Sprintf("%s: %s %v", ans.From, ans.Payload, ans.Err))
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	fmt.Println("context still running:", ctx.Err() == nil)
	// Output:
	// 10.0.0.2:7946: here <nil>
	// 10.0.0.3:7946: here <nil>
	// 10.0.0.4:7946: here <nil>
	// context still running: true
}

type price struct {
	Item  string
	Cents int
}

// Typed values travel in the node's codec, here MessagePack: SendValue and
// Decode for one-way messages, RequestValue and HandleValue for requests.
func ExampleRequestValue() {
	network := mem.NewNetwork()
	prices := map[string]int{"tea": 250, "cake": 400}
	quote := cluster.HandleValue(func(_ context.Context, _ cluster.Remote, item string) (price, error) {
		cents, ok := prices[item]
		if !ok {
			return price{}, fmt.Errorf("no %s today", item)
		}
		return price{Item: item, Cents: cents}, nil
	})
	ns := meshOf(network, []string{"10.0.0.1:7946", "10.0.0.2:7946"},
		cluster.WithCodec(msgpack.Codec{}), cluster.WithRequestHandler(quote))
	shop, buyer := ns[0], ns[1]
	defer shop.Close()
	defer buyer.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := cluster.RequestValue[price](ctx, buyer, cluster.Remote(*shop.Addr()), "tea")
	fmt.Printf("%+v %v\n", p, err)
	_, err = cluster.RequestValue[price](ctx, buyer, cluster.Remote(*shop.Addr()), "pie")
	fmt.Println(err)

	if err := cluster.SendValue(buyer, cluster.Remote(*shop.Addr()), price{Item: "tea", Cents: 200}); err != nil {
		log.Fatal(err)
	}
	offer, err := cluster.Decode[price](shop, (<-shop.Inbox).Payload)
	fmt.Printf("offer %+v %v\n", offer, err)

	_, err = cluster.Decode[int](shop, []byte("not msgpack of an int"))
	fmt.Println(errors.Is(err, cluster.ErrDecode))
	err = cluster.SendValue(buyer, cluster.Remote(*shop.Addr()), func() {})
	fmt.Println(errors.Is(err, cluster.ErrEncode))
	// Output:
	// {Item:tea Cents:250} <nil>
	// cluster: remote 10.0.0.1:7946 answered: no pie today
	// offer {Item:tea Cents:200} <nil>
	// true
	// true
}
