// Command roles shows node names, cluster labels and tags at work: nodes say
// what they are for in their tags, and a gateway routes each job to a node of
// the role it needs, reading its remotes' tags. One node then drains: it
// changes its tags at runtime, the gateway hears of it and routes around it.
//
//	go run ./examples/roles
package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The remotes whose tags changed, as the gateway hears of them.
	retagged := make(chan cluster.Remote, 16)
	gateway := node("gateway", "gateway",
		cluster.WithRemoteTagsChanged(func(r cluster.Remote, tags map[string]string) { retagged <- r }))
	defer gateway.Close()

	var running sync.WaitGroup
	workers := map[string]*cluster.Node{}
	for _, w := range []struct{ name, role string }{{"db-1", "db"}, {"db-2", "db"}, {"cache-1", "cache"}} {
		n := node(w.name, w.role)
		defer n.Close()
		workers[w.name] = n
		running.Go(func() { work(n) })
		if err := n.AddContext(ctx, gateway.Addr().String()); err != nil {
			log.Fatal(err)
		}
	}
	if err := gateway.WaitMesh(ctx); err != nil {
		log.Fatal(err)
	}
	for _, r := range gateway.Remotes() {
		info, _ := gateway.Info(r)
		fmt.Printf("gateway knows %s: role %s\n", info.Name, info.Tags["role"])
	}

	route(ctx, gateway, []job{{"db", "read user 1"}, {"db", "read user 2"}, {"cache", "warm page /"}, {"db", "write user 3"}})

	// db-2 drains: it tells everyone by changing its tags, and the gateway
	// routes around it.
	fmt.Println("db-2 drains")
	if err := workers["db-2"].SetTags(map[string]string{"role": "draining"}); err != nil {
		log.Fatal(err)
	}
	select {
	case r := <-retagged:
		info, _ := gateway.Info(r)
		fmt.Printf("gateway: %s is now %s\n", info.Name, info.Tags["role"])
	case <-ctx.Done():
		log.Fatal("the gateway never heard of the change")
	}
	route(ctx, gateway, []job{{"db", "read user 4"}, {"db", "read user 5"}})

	for _, n := range workers {
		n.Close() // which ends its Inbox, and its work
	}
	running.Wait()
}

// node starts a node of the demo's cluster on loopback.
func node(name, role string, opts ...cluster.Option) *cluster.Node {
	n, err := cluster.NewNode("127.0.0.1:0", append([]cluster.Option{
		cluster.WithName(name),
		cluster.WithLabel("roles-demo"), // nodes of another cluster are refused
		cluster.WithTags(map[string]string{"role": role}),
	}, opts...)...)
	if err != nil {
		log.Fatal(err)
	}
	return n
}

// work answers every job with who did it.
func work(n *cluster.Node) {
	for m := range n.Inbox {
		reply := fmt.Sprintf("%s (%s) did %q", n.Name(), n.Tags()["role"], m.Payload)
		n.Send(m.From, []byte(reply))
	}
}

// job is work for a node of a role.
type job struct{ role, what string }

// route sends each job to the remotes of its role in turn, and prints the
// replies.
func route(ctx context.Context, gateway *cluster.Node, jobs []job) {
	turn := map[string]int{}
	for _, j := range jobs {
		var candidates []cluster.Remote
		for _, r := range gateway.Remotes() {
			if info, ok := gateway.Info(r); ok && info.Tags["role"] == j.role {
				candidates = append(candidates, r)
			}
		}
		if len(candidates) == 0 {
			log.Fatalf("no node has role %s", j.role)
		}
		to := candidates[turn[j.role]%len(candidates)]
		turn[j.role]++
		if err := gateway.SendContext(ctx, to, []byte(j.what)); err != nil {
			log.Fatal(err)
		}
		select {
		case m := <-gateway.Inbox:
			fmt.Println("  " + string(m.Payload))
		case <-ctx.Done():
			log.Fatal("no reply")
		}
	}
}
