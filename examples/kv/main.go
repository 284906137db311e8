// Command kv is a small key-value service that every node of a cluster
// answers, built on requests, queries and typed values.
//
//	go run ./examples/kv
//
// Four nodes start in this process, on TCP, and meet through the first.
// Each key belongs to one node, chosen by hashing the key over the sorted
// members; any node can put or get any key by asking its owner with a
// request. A query asks every node at once how many keys it holds, and
// ends as soon as the last has answered. Then one node leaves, and a get of
// one of its keys fails with an error that says so.
package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// Op is a request to a node's store.
type Op struct {
	Put   bool
	Key   string
	Value string
}

// Result is a store's answer.
type Result struct {
	Value string
	Found bool
}

// store is one node's share of the keys.
type store struct {
	mu   sync.Mutex
	data map[string]string
}

// handle answers an Op from another node.
func (s *store) handle(_ context.Context, _ cluster.Remote, op Op) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op.Put {
		s.data[op.Key] = op.Value
		return Result{Value: op.Value, Found: true}, nil
	}
	v, ok := s.data[op.Key]
	return Result{Value: v, Found: ok}, nil
}

// len is the number of keys held.
func (s *store) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

// size answers a query for the number of keys held.
func (s *store) size(context.Context, *cluster.Message) ([]byte, error) {
	return fmt.Appendf(nil, "%d", s.len()), nil
}

// owner returns the node of the cluster, seen from n, that holds key.
func owner(n *cluster.Node, key string) cluster.Remote {
	members := append(n.Remotes(), cluster.Remote(*n.Addr()))
	slices.SortFunc(members, func(a, b cluster.Remote) int { return strings.Compare(a.String(), b.String()) })
	h := fnv.New32a()
	h.Write([]byte(key))
	return members[h.Sum32()%uint32(len(members))]
}

// kv is a node with its store, answering both kinds of request.
type kv struct {
	node  *cluster.Node
	store *store
}

func start() *kv {
	s := &store{data: map[string]string{}}
	ops := cluster.HandleValue(s.handle)
	n, err := cluster.NewNode("127.0.0.1:0", cluster.WithRequestHandler(func(ctx context.Context, req *cluster.Message) ([]byte, error) {
		if string(req.Payload) == "size?" {
			return s.size(ctx, req)
		}
		return ops(ctx, req)
	}))
	if err != nil {
		log.Fatal(err)
	}
	return &kv{node: n, store: s}
}

// do runs op at the key's owner: this node's own store, or a request.
func (k *kv) do(ctx context.Context, op Op) (Result, error) {
	to := owner(k.node, op.Key)
	if to.Equal(cluster.Remote(*k.node.Addr())) {
		return k.store.handle(ctx, to, op)
	}
	return cluster.RequestValue[Result](ctx, k.node, to, op)
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := make([]*kv, 4)
	for i := range nodes {
		nodes[i] = start()
		defer nodes[i].node.Close()
		if i > 0 {
			if err := nodes[i].node.AddContext(ctx, nodes[0].node.String()); err != nil {
				log.Fatal(err)
			}
		}
	}
	for _, k := range nodes {
		if err := k.node.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == len(nodes)-1 }); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("%d nodes in a mesh\n", len(nodes))

	// Every node puts a few keys, wherever they belong.
	fruit := []string{"apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel"}
	for i, name := range fruit {
		if _, err := nodes[i%len(nodes)].do(ctx, Op{Put: true, Key: name, Value: strings.ToUpper(name)}); err != nil {
			log.Fatal(err)
		}
	}
	// Any node gets any key.
	for _, name := range []string{"cherry", "grape", "kiwi"} {
		r, err := nodes[3].do(ctx, Op{Key: name})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("get %s: %q found=%v (held by %s)\n", name, r.Value, r.Found, owner(nodes[3].node, name))
	}

	// A query asks every other node at once and ends with the last answer.
	start := time.Now()
	total := nodes[0].store.len()
	for ans := range nodes[0].node.Query(ctx, []byte("size?")).Answers() {
		if ans.Err != nil {
			log.Fatal(ans.Err)
		}
		var n int
		fmt.Sscan(string(ans.Payload), &n)
		total += n
	}
	fmt.Printf("the cluster holds %d keys (query over in %v, its context had %v left)\n",
		total, time.Since(start).Round(10*time.Microsecond), time.Until(deadline(ctx)).Round(time.Second))

	// A node leaves: a get of a key it held fails with a clear error.
	gone := nodes[2]
	to := cluster.Remote(*gone.node.Addr())
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprint("key-", i); owner(nodes[0].node, k).Equal(to) {
			key = k
		}
	}
	gone.node.Close()
	_, err := cluster.RequestValue[Result](ctx, nodes[0].node, to, Op{Key: key})
	switch {
	case errors.Is(err, cluster.ErrRemoteLeft), errors.Is(err, cluster.ErrUnknownRemote):
		fmt.Printf("get %s from %s after it left: %v\n", key, to, err)
	default:
		log.Fatalf("unexpected: %v", err)
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
