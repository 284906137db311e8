package cluster

import (
	"sync/atomic"

	"github.com/peerweave/peerweave/internal/joinwork"
)

// joinWork counts what joining the mesh costs a node, so that benchmarks and
// tests can show that it grows linearly with the cluster (peerlist.go).
type joinWork struct {
	dials     atomic.Int64 // connections dialled
	tieLosses atomic.Int64 // dialled connections dropped for one the other way
	entries   atomic.Int64 // addresses sent in peer lists
}

func init() {
	joinwork.Of = func(node any) joinwork.Work { return node.(*Node).joinWork() }
}

// joinWork returns the node's counts so far.
func (n *Node) joinWork() joinwork.Work {
	return joinwork.Work{
		Dials:       n.work.dials.Load(),
		TieLosses:   n.work.tieLosses.Load(),
		EntriesSent: n.work.entries.Load(),
	}
}
