package cluster_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/joinwork"
	"github.com/peerweave/peerweave/internal/testlog"
	"github.com/peerweave/peerweave/transport/mem"
)

// TestCrowdJoinsOneSeedOnASaturatedMachine starts a crowd of nodes on mem
// with the default settings, on one processor that a goroutine keeps busy,
// and makes all but one Add that one at the same moment: every Add must
// succeed, the full mesh must form, and the work joining cost each node must
// stay linear in the crowd's size. The crowd is 200 nodes; under the race
// detector, which makes it several times slower, 60 (CI runs the 200 without
// it too). It runs alone, not in parallel, to saturate the machine itself.
func TestCrowdJoinsOneSeedOnASaturatedMachine(t *testing.T) {
	size := 200
	if raceOn {
		size = 60
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	stop := make(chan struct{})
	var burner sync.WaitGroup
	burner.Go(func() { burn(stop) })
	defer burner.Wait()
	defer close(stop)

	// The nodes run in a synctest bubble, the burner outside it: the
	// processor is as busy as before, but the bubble's clock moves only
	// when every node waits, so a timeout fires where the nodes wait for
	// each other, never because the machine, or the others on it, kept a
	// node from running. What the test checks, that every Add succeeds and
	// the join work stays linear, then no longer depends on the load.
	synctest.Test(t, func(t *testing.T) { crowdJoins(t, size) })
}

// crowdJoins is TestCrowdJoinsOneSeedOnASaturatedMachine in its bubble.
func crowdJoins(t *testing.T, size int) {
	network := mem.NewNetwork()
	logs := testlog.NewCounter()
	nodes := make([]*cluster.Node, size)
	for i := range nodes {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(network), cluster.WithLogger(logs.Logger()))
		require.NoError(t, err)
		nodes[i] = n
	}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(n.Close)
		}
		wg.Wait()
	})

	seed := nodes[0].String()
	errs := make([]error, size)
	var adds sync.WaitGroup
	for i, n := range nodes[1:] {
		adds.Go(func() { errs[i+1] = n.Add(seed) })
	}
	adds.Wait()
	for i, err := range errs {
		require.NoError(t, err, "Add of node %d", i)
	}
	// A bound on waiting, in the bubble's time: it runs out only if the
	// nodes stop making progress.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for i, n := range nodes {
		require.NoError(t, n.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == size-1 }),
			"node %d knows %d of %d", i, len(n.Remotes()), size-1)
	}
	assert.Zero(t, logs.Count("cannot reach remote from peer list"), "a peer-list dial failed for good")

	// Each pair is dialled about once: a node dials about half the others,
	// the odd redial of a timed-out dial aside. The seed sends each joiner
	// the remotes before it, about size²/2 entries in all; every other node
	// tells the seed of its list connections, fewer than size.
	others := int64(size - 1)
	var dials, entries int64
	for i, n := range nodes {
		w := joinwork.Of(n)
		dials += w.Dials
		entries += w.EntriesSent
		assert.LessOrEqual(t, w.Dials, 2*others, "dials of node %d", i)
		assert.LessOrEqual(t, w.TieLosses, others/10, "lost tie-breaks of node %d", i)
		if i > 0 {
			assert.LessOrEqual(t, w.EntriesSent, 2*others, "peer-list entries sent by node %d", i)
		}
	}
	pairs := others * int64(size) / 2
	assert.LessOrEqual(t, dials, pairs+pairs/10, "dials in all, for %d pairs", pairs)
	assert.LessOrEqual(t, entries/int64(size), 3*others, "peer-list entries sent per node")

}

// burn keeps a processor busy until stop closes.
func burn(stop <-chan struct{}) {
	for x := uint64(1); ; x = x*6364136223846793005 + 1 {
		select {
		case <-stop:
			return
		default:
		}
	}
}
