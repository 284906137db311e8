package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

// TestChurn makes nodes join, leave gracefully and crash at random for a
// while, then checks that every live node knows exactly the other live ones
// once the parts that churn may have split the cluster into are rejoined
// (rejoin), and that once all are closed no goroutine is left and the heap
// is back where it started. It runs alone (not in parallel) to measure
// those, on the fault stacks, for longer with PEERWEAVE_LONG=1.
func TestChurn(t *testing.T) {
	duration := 2 * time.Second
	if long {
		duration = 30 * time.Second
	}
	for _, s := range faultStacks() {
		t.Run(s.name, func(t *testing.T) { churn(t, s, duration) })
	}
}

func churn(t *testing.T, s stack, duration time.Duration) {
	const maxNodes, workers = 20, 4
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	idle := goleak.IgnoreCurrent()
	heapBefore := heapInUse()

	c := &churner{t: t, stack: s, network: s.network(), rng: rand.New(rand.NewPCG(seed, seed))}
	c.log = slog.New(slog.NewTextHandler(testWriter{t, ""}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t.Cleanup(func() {
		for _, m := range c.live { // left behind by a failure
			m.n.Close()
		}
	})
	for range maxNodes / 2 {
		c.join()
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(duration)
	for range workers {
		wg.Go(func() {
			for time.Now().Before(stop) {
				c.step(maxNodes)
			}
		})
	}
	wg.Wait()
	t.Logf("%d joined, %d left, %d crashed, %d live", c.joined, c.left, c.crashed, len(c.live))
	if parts := c.rejoin(); parts > 1 {
		t.Logf("churn split the cluster into %d parts, rejoined by an Add each", parts)
	}

	nodes := make([]*cluster.Node, len(c.live))
	for i, m := range c.live {
		nodes[i] = m.n
	}
	waitMesh(t, nodes...)
	for _, m := range c.live {
		m.n.Close()
	}
	c.live = nil

	goleak.VerifyNone(t, idle)
	// Deadline timers of closed pipes hold their memory until they fire.
	var heapAfter uint64
	assert.Eventually(t, func() bool {
		heapAfter = heapInUse()
		return heapAfter < heapBefore+2<<20
	}, waitFor, 100*time.Millisecond, "heap grew from %d KiB to %d KiB", heapBefore>>10, heapAfter>>10)
	t.Logf("heap in use: %d KiB before, %d KiB after", heapBefore>>10, heapAfter>>10)
}

// heapInUse returns the bytes of heap in use after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// churner is the churning cluster: the live nodes and what happened.
type churner struct {
	t       *testing.T
	stack   stack
	network func() cluster.Transport
	log     *slog.Logger

	mu                    sync.Mutex // guards the fields below
	rng                   *rand.Rand
	live                  []*member
	joining               int // nodes that step is starting
	joined, left, crashed int
}

// member is a live node, the transport that can crash it, and the member
// its Add reached, if any.
type member struct {
	n    *cluster.Node
	tr   *crashable
	seed *member
}

// step joins a node, closes one or crashes one, at random.
func (c *churner) step(maxNodes int) {
	c.mu.Lock()
	r, pause := c.rng.Float64(), time.Duration(c.rng.IntN(20))*time.Millisecond
	var m *member
	if (r < 0.5 || len(c.live) < 3) && len(c.live)+c.joining < maxNodes {
		c.joining++
		c.mu.Unlock()
		c.join()
		c.mu.Lock()
		c.joining--
		c.mu.Unlock()
	} else if len(c.live) > 0 {
		m = c.take()
		if r < 0.8 {
			c.left++
		} else {
			c.crashed++
			m.tr.crash()
		}
		c.mu.Unlock()
		m.n.Close()
	} else {
		c.mu.Unlock()
	}
	time.Sleep(pause) // a pace, not a synchronisation
}

// take removes a random live node from the cluster. c.mu must be held.
func (c *churner) take() *member {
	i := c.rng.IntN(len(c.live))
	m := c.live[i]
	c.live = slices.Delete(c.live, i, i+1)
	return m
}

// join starts a node and adds it to a random live node, trying others if
// that one goes away meanwhile. A node that finds nobody although others
// live is closed.
func (c *churner) join() {
	tr := &crashable{inner: c.network()}
	// With the default network timeout: a crash closes the node's
	// connections, which its remotes notice at once, and at Fast's 2 s a
	// loaded machine running twenty QUIC nodes under the race detector
	// made live nodes drop each other for silence faster than they
	// reconnected, so that the mesh never settled.
	n, err := cluster.NewNode("127.0.0.1:0", append(clustertest.Fast(), clustertest.Patient(),
		cluster.WithTransport(tr), cluster.WithCodec(c.stack.codec), cluster.WithLogger(c.log))...)
	if !assert.NoError(c.t, err) {
		return
	}
	var seed *member
	for tries := 0; ; tries++ {
		seed = c.anyLive()
		if seed == nil || n.Add(seed.n.String()) == nil {
			break
		}
		if tries == 5 {
			n.Close()
			return
		}
	}
	c.mu.Lock()
	c.live = append(c.live, &member{n: n, tr: tr, seed: seed})
	c.joined++
	c.mu.Unlock()
}

// anyLive returns a random live member, nil if there is none.
func (c *churner) anyLive() *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.live) == 0 {
		return nil
	}
	return c.live[c.rng.IntN(len(c.live))]
}

// rejoin makes one cluster of the live members again, as an application
// does after a partition, and returns how many parts there were.
//
// The library meshes the nodes that a chain of connections links (the
// package doc: adding one peer of a cluster connects a node to all of it):
// a connection lasts while both ends live, redialled if lost, and peer lists
// and gossip introduce the nodes on either side of it. Churn can break every
// such chain between two live nodes: a node whose seed, and every node the
// seed's peer list named, left or crashed before any of them introduced it
// to another knows no live node of the rest, and no live node of the rest
// has heard of it, nor of the nodes that later joined through it. Nothing can
// mesh such parts; an application joins them again by an Add (a discovery
// round). So rejoin takes as parts the live members that their connections
// (Remotes, and the Add of each to its seed) link, and has one member of
// every other part add the first member; the full mesh is then the
// library's to make.
func (c *churner) rejoin() int {
	part := make(map[*member]*member, len(c.live)) // a member to a member of its part, until the part's root
	byAddr := make(map[string]*member, len(c.live))
	for _, m := range c.live {
		part[m] = m
		byAddr[m.n.String()] = m
	}
	root := func(m *member) *member {
		for part[m] != m {
			m = part[m]
		}
		return m
	}
	link := func(m, o *member) {
		if _, live := part[o]; live {
			part[root(m)] = root(o)
		}
	}
	for _, m := range c.live {
		link(m, m.seed)
		for _, r := range m.n.Remotes() {
			link(m, byAddr[r.String()])
		}
	}
	parts := 0
	for _, m := range c.live {
		if root(m) != m {
			continue
		}
		parts++
		if m != root(c.live[0]) {
			assert.NoError(c.t, m.n.Add(c.live[0].n.String()), "rejoining %s to %s", m.n, c.live[0].n)
		}
	}
	return parts
}

// crashable is a transport whose node can crash: its listener and every
// connection close at once, without a goodbye, and it dials no more.
type crashable struct {
	inner cluster.Transport

	mu      sync.Mutex // guards the fields below
	crashed bool
	ln      net.Listener
	conns   []net.Conn
}

var errCrashed = errors.New("crashed")

// track keeps c to close it on a crash, or closes it if the crash happened.
func (t *crashable) track(c net.Conn) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.crashed {
		c.Close()
		return errCrashed
	}
	t.conns = append(t.conns, c)
	return nil
}

func (t *crashable) crash() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.crashed = true
	t.ln.Close()
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}

func (t *crashable) Listen(laddr string) (net.Listener, error) {
	ln, err := t.inner.Listen(laddr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.ln = ln
	t.mu.Unlock()
	return crashableListener{ln, t}, nil
}

func (t *crashable) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	c, err := t.inner.Dial(ctx, raddr)
	if err != nil {
		return nil, err
	}
	if err := t.track(c); err != nil {
		return nil, err
	}
	return c, nil
}

type crashableListener struct {
	net.Listener
	t *crashable
}

func (l crashableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.t.track(c); err != nil {
		return nil, net.ErrClosed
	}
	return c, nil
}
