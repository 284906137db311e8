package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
)

// kill ends a node ungracefully, as far as the others can tell.
type kill func(fn *fault.Network, victim *cluster.Node, others []*cluster.Node)

// blackhole silences the victim: nothing it sends arrives, nothing reaches
// it, and dials to it hang. Only the health checks can tell: the worst case.
func blackhole(fn *fault.Network, victim *cluster.Node, _ []*cluster.Node) {
	fn.Isolate(victim.String())
}

// reset is a crashed process whose host is up: its connections close at once
// and nothing answers afterwards.
func reset(fn *fault.Network, victim *cluster.Node, others []*cluster.Node) {
	fn.Isolate(victim.String())
	for _, o := range others {
		fn.Break(victim.String(), o.String())
	}
}

// detection meshes size nodes behind a fault network with the given health
// settings, kills the last one, and returns how long until every other node
// had removed it.
func detection(size int, tr transport, codec cluster.Codec, healthy, timeout time.Duration, k kill) (time.Duration, error) {
	fn := fault.NewNetwork()
	source := tr.network()
	f, err := newFleet(size, func() cluster.Transport { return fn.Wrap(source()) }, codec,
		cluster.WithHealthyInterval(healthy),
		cluster.WithNetworkTimeout(timeout),
		cluster.WithReconnectInterval(time.Hour), // no redial disturbs the measurement
	)
	if err != nil {
		return 0, err
	}
	defer func() {
		fn.Heal()
		f.close()
	}()
	if _, err := f.converge(true); err != nil {
		return 0, err
	}

	victim, others := f.nodes[size-1], f.nodes[:size-1]
	name := victim.String()
	var removed atomic.Int64
	var at time.Time // set before gone closes
	gone := make(chan struct{})
	for _, n := range others {
		n.RemoteRemoved(func(r cluster.Remote) {
			if r.String() == name && removed.Add(1) == int64(len(others)) {
				at = time.Now()
				close(gone)
			}
		})
	}
	start := time.Now()
	k(fn, victim, others)
	limit := 10*(healthy+timeout) + 10*time.Second
	select {
	case <-gone:
		return at.Sub(start), nil
	case <-time.After(limit):
		return 0, fmt.Errorf("%d of %d nodes removed the dead node in %v", removed.Load(), len(others), limit)
	}
}
