package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// convergeLimit is how long a fleet may take to become a full mesh before the
// measurement fails.
const convergeLimit = 30 * time.Second

// fleet is a set of nodes in this process, meant to become one full mesh.
type fleet struct {
	nodes    []*cluster.Node
	full     atomic.Int64  // nodes that know every other node
	meshed   chan struct{} // closed when full first reaches len(nodes)
	meshedAt time.Time     // set before meshed closes
	once     sync.Once
}

// newFleet starts size nodes, each with a transport from newTransport and
// the given options, and watches them for the full mesh from the start.
func newFleet(size int, newTransport func() cluster.Transport, codec cluster.Codec, opts ...cluster.Option) (*fleet, error) {
	f := &fleet{meshed: make(chan struct{})}
	for range size {
		n, err := cluster.NewNode("127.0.0.1:0", append(append([]cluster.Option{
			cluster.WithTransport(newTransport()),
			cluster.WithCodec(codec),
		}, f.watch(size)...), opts...)...)
		if err != nil {
			f.close()
			return nil, err
		}
		f.nodes = append(f.nodes, n)
	}
	return f, nil
}

// watch returns the options of one of size nodes that keep f.full up to
// date with whether that node knows all the others. A counter fed by the
// callbacks, rather than a Wait per node, stops the clock only when every
// node knows all others at once. It counts RemoteAdded and RemoteRemoved
// rather than taking RemoteChanged's list, whose cost (a sorted list of every
// remote, per change) would be the callback's, not the mesh's.
func (f *fleet) watch(size int) []cluster.Option {
	remotes := 0 // used by the node's callbacks only, which run one at a time
	full := false
	update := func(delta int) {
		remotes += delta
		if now := remotes == size-1; now != full {
			full = now
			if !full {
				f.full.Add(-1)
			} else if f.full.Add(1) == int64(size) {
				f.once.Do(func() {
					f.meshedAt = time.Now()
					close(f.meshed)
				})
			}
		}
	}
	return []cluster.Option{
		cluster.WithRemoteAdded(func(cluster.Remote) { update(1) }),
		cluster.WithRemoteRemoved(func(cluster.Remote) { update(-1) }),
	}
}

// converge makes every node but the first Add the first, all at once if
// concurrent is set, else one after another, and returns how long it took
// from the first Add until every node knew every other one.
func (f *fleet) converge(concurrent bool) (time.Duration, error) {
	seed := f.nodes[0].String()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(f.nodes))
	for _, n := range f.nodes[1:] {
		if !concurrent {
			if err := n.Add(seed); err != nil {
				return 0, err
			}
			continue
		}
		wg.Go(func() {
			if err := n.Add(seed); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	select {
	case <-f.meshed:
		return f.meshedAt.Sub(start), nil
	case <-time.After(convergeLimit - time.Since(start)):
		return 0, fmt.Errorf("no full mesh after %v: %d of %d nodes know all others",
			convergeLimit, f.full.Load(), len(f.nodes))
	}
}

// close closes every node at once.
func (f *fleet) close() {
	var wg sync.WaitGroup
	for _, n := range f.nodes {
		wg.Go(n.Close)
	}
	wg.Wait()
}

// usage is the process's live heap, goroutine stacks and goroutines.
type usage struct {
	heap, stacks int64
	goroutines   int
}

// measureUsage waits for the number of goroutines to settle, collects
// garbage and returns what is left.
func measureUsage() usage {
	const poll, steady, giveUp = 20 * time.Millisecond, 5, 5 * time.Second
	last, same := runtime.NumGoroutine(), 0
	for start := time.Now(); same < steady && time.Since(start) < giveUp; {
		time.Sleep(poll)
		if g := runtime.NumGoroutine(); g == last {
			same++
		} else {
			last, same = g, 0
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{heap: int64(ms.HeapAlloc), stacks: int64(ms.StackInuse), goroutines: runtime.NumGoroutine()}
}
