// Command discovery shows nodes that find each other through a discovery
// source alone: no node is ever told another's address with Add.
//
// It starts four nodes in this process. Each runs discovery.Join on the same
// peers file, which the program rewrites as an ops tool would: every node
// that starts is appended to it. The nodes find each other within a round;
// then one node is taken out of the file and shut down, and the others let
// it go.
//
//	go run ./examples/discovery
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/discovery"
)

func main() {
	dir, err := os.MkdirTemp("", "peerweave-discovery")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	peers := &peersFile{path: filepath.Join(dir, "peers")}
	peers.write()
	fmt.Printf("peers file: %s\n", peers.path)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := []string{"ann", "bob", "cat", "dan"}
	nodes := make([]*cluster.Node, len(names))
	var nameOf sync.Map // listen address -> name, stored before anyone learns the address
	stops := make([]func(), len(names))
	for i, name := range names {
		n, err := cluster.NewNode("127.0.0.1:0",
			cluster.WithRemoteAdded(func(r cluster.Remote) { fmt.Printf("%s found %s\n", name, lookup(&nameOf, r)) }),
			cluster.WithRemoteRemoved(func(r cluster.Remote) { fmt.Printf("%s lost %s\n", name, lookup(&nameOf, r)) }),
		)
		if err != nil {
			log.Fatal(err)
		}
		nodes[i] = n
		nameOf.Store(n.String(), name)
		fmt.Printf("%s listens on %s, is added to the peers file and starts discovery\n", name, n)
		peers.add(n.String())
		stops[i] = join(n, discovery.File(peers.path))
	}
	for _, n := range nodes {
		waitFor(ctx, n, len(nodes)-1, "the full mesh")
	}
	fmt.Printf("mesh formed: each of %d nodes knows the other %d\n", len(nodes), len(nodes)-1)

	fmt.Println("dan leaves the peers file and shuts down")
	peers.remove(nodes[3].String())
	stops[3]()
	nodes[3].RemoteRemoved(nil)
	nodes[3].Close()
	for _, n := range nodes[:3] {
		waitFor(ctx, n, 2, "dan to be gone")
	}
	fmt.Printf("ann now knows %d nodes\n", len(nodes[0].Remotes()))

	for i, n := range nodes[:3] {
		n.RemoteRemoved(nil)
		stops[i]()
	}
	for _, n := range nodes[:3] {
		n.Close()
	}
}

// lookup returns the name of the node at r.
func lookup(nameOf *sync.Map, r cluster.Remote) string {
	name, _ := nameOf.Load(r.String())
	return name.(string)
}

// join runs discovery.Join for n, with a short interval for the demo, and
// returns a function that stops it and waits for it.
func join(n *cluster.Node, src discovery.Source) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { discovery.Join(ctx, n, src, discovery.WithInterval(100*time.Millisecond)) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// peersFile is a peers file rewritten whole, with a rename, at each change.
type peersFile struct {
	path  string
	addrs []string
}

func (f *peersFile) add(addr string) {
	f.addrs = append(f.addrs, addr)
	f.write()
}

func (f *peersFile) remove(addr string) {
	for i, a := range f.addrs {
		if a == addr {
			f.addrs = append(f.addrs[:i], f.addrs[i+1:]...)
			break
		}
	}
	f.write()
}

func (f *peersFile) write() {
	content := "# peers of the demo, one host:port a line\n" + strings.Join(f.addrs, "\n") + "\n"
	tmp := f.path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		log.Fatal(err)
	}
}

// waitFor waits until n has count remotes, and gives up when ctx ends.
func waitFor(ctx context.Context, n *cluster.Node, count int, what string) {
	if err := n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == count }); err != nil {
		log.Fatalf("gave up waiting for %s: %v", what, err)
	}
}
