package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// pair is two nodes, a and b, where a dialled b, and a record of the remotes
// either removed.
type pair struct {
	a, b    *cluster.Node
	removed removals
	once    sync.Once
}

// newPair starts a with the transport newTransport returns and the options
// common and forA, then b likewise with forB, and makes a Add b. It returns
// once each knows the other. The nodes never redial a remote they lose, so
// that a removal shows in the measurement instead of being mended.
func newPair(newTransport func() cluster.Transport, codec cluster.Codec, common, forA, forB []cluster.Option) (*pair, error) {
	p := &pair{}
	start := func(name string, extra []cluster.Option) (*cluster.Node, error) {
		opts := []cluster.Option{
			cluster.WithTransport(newTransport()),
			cluster.WithCodec(codec),
			cluster.WithReconnectInterval(time.Hour),
			cluster.WithRemoteRemoved(func(r cluster.Remote) { p.removed.add(name, r) }),
		}
		return cluster.NewNode("127.0.0.1:0", slices.Concat(opts, common, extra)...)
	}
	var err error
	if p.a, err = start("A", forA); err != nil {
		return nil, err
	}
	if p.b, err = start("B", forB); err != nil {
		p.a.Close()
		return nil, err
	}
	if err := p.a.Add(p.b.String()); err != nil {
		p.close()
		return nil, fmt.Errorf("connect A to B: %w", err)
	}
	// Add returns once a knows b; b may register a a moment later.
	ctx, cancel := context.WithTimeout(context.Background(), convergeLimit)
	defer cancel()
	if err := p.b.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 1 }); err != nil {
		p.close()
		return nil, fmt.Errorf("B waits for A: %w", err)
	}
	return p, nil
}

// close closes both nodes at once. It may be called more than once.
func (p *pair) close() {
	p.once.Do(func() {
		var wg sync.WaitGroup
		wg.Go(p.a.Close)
		wg.Go(p.b.Close)
		wg.Wait()
	})
}

// removals records which node removed which remote, from the nodes'
// RemoteRemoved callbacks.
type removals struct {
	mu   sync.Mutex
	list []string
}

func (r *removals) add(by string, gone cluster.Remote) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, by+" removed "+gone.String())
}

// snapshot returns the removals so far. Take it before closing the nodes,
// whose goodbyes remove them from each other.
func (r *removals) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// describeRemovals says which remotes were removed, or "none removed".
func describeRemovals(list []string) string {
	if len(list) == 0 {
		return "none removed"
	}
	return strings.Join(list, ", ")
}
