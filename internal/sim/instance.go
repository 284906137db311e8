package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/simhook"
)

// instance is one node of a slot, from its start to its crash or leave; a
// restart is a new instance. Its maps are guarded by the world's mu.
type instance struct {
	id         int
	slot       int
	addr, name string
	node       *cluster.Node
	tr         *crashable
	quit       chan struct{} // closed when it crashes or leaves
	started    time.Duration
	gone       time.Duration // when it crashed or left; 0 while live

	seq        uint64            // the last sequence number it sent
	breaks     map[string]int    // per remote address, how many times it was added or removed
	members    map[string]bool   // the remotes its callbacks reported
	last       map[int]uint64    // per sender instance, the last sequence number received
	tags       map[string]string // its tags as last set
	pauseUntil time.Time
}

func (in *instance) String() string { return fmt.Sprintf("%s@%s", in.name, in.addr) }

func (in *instance) remote() cluster.Remote {
	return cluster.Remote(*in.node.Addr())
}

// seeded is a node's source of random choices, seeded from the schedule.
type seeded struct {
	mu sync.Mutex
	r  *rand.Rand
	c  *rand.ChaCha8
}

func newSeeded(seed uint64, id int) *seeded {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
		key[8+i] = byte(uint64(id) >> (8 * i))
	}
	c := rand.NewChaCha8(key)
	return &seeded{c: c, r: rand.New(c)}
}

func (s *seeded) IntN(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.IntN(n)
}

func (s *seeded) Read(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Read(b)
}

// launch starts a node in a slot, joining through the node of slot seed
// (none if seed is -1 or empty). It retries the join every network timeout
// until it succeeds or the node goes, as an application would.
func (w *world) launch(slot, seed int) *instance {
	w.mu.Lock()
	w.nextID++
	in := &instance{
		id:      w.nextID,
		slot:    slot,
		addr:    fmt.Sprintf("10.%d.%d.%d:7946", slot/250, slot%250, w.gens[slot]%250+1),
		name:    fmt.Sprintf("n%d", slot),
		tr:      &crashable{Transport: w.fn.Wrap(w.mem)},
		quit:    make(chan struct{}),
		started: w.now(),
		breaks:  make(map[string]int),
		members: make(map[string]bool),
		last:    make(map[int]uint64),
	}
	if w.names[slot] > 0 {
		in.name = fmt.Sprintf("n%d.%d", slot, w.names[slot])
	}
	ring := w.keyring
	w.mu.Unlock()
	log := Logger
	if log == nil {
		log = discard
	}
	node, err := cluster.NewNode(in.addr,
		cluster.WithTransport(in.tr),
		cluster.WithName(in.name),
		cluster.WithLogger(log),
		cluster.WithSecrets(ring[0], ring[1:]...),
		cluster.WithHealthyInterval(w.s.Healthy),
		cluster.WithNetworkTimeout(w.s.Timeout),
		cluster.WithReconnectInterval(w.s.Reconnect),
		cluster.WithRemoteAdded(func(r cluster.Remote) { w.added(in, r) }),
		cluster.WithRemoteRemoved(func(r cluster.Remote) { w.removed(in, r) }),
		cluster.WithRemoteChanged(func(rs []cluster.Remote) { w.changed(in, rs) }),
		cluster.WithObserver(cluster.ObserverFunc(func(e cluster.Event) { w.observe(in, e) })),
		cluster.WithRequestHandler(w.handle),
		simhook.Seeded(newSeeded(w.s.Seed, in.id)).(cluster.Option),
	)
	if err != nil {
		w.fail(in.String(), "-", "NewNode: %v", err)
		return nil
	}
	in.node = node
	w.mu.Lock()
	w.slots[slot] = in
	w.byAddr[in.addr] = in
	w.insts[in.id] = in
	w.res.Nodes++
	w.mu.Unlock()
	w.reapply() // a partition under way takes in the new node
	w.bg.Go(func() { w.read(in) })
	w.work.Go(func() { w.workload(in) })
	var to string
	if s := w.at(seed); s != nil {
		to = s.addr
	}
	w.bg.Go(func() { w.join(in, to) })
	return in
}

// join is the application's part in membership, until the node closes: it
// adds the node at addr (if any), and a live node again every network
// timeout until that works, and then, whenever the node finds itself without a remote, adds a
// live node again, as an application with a list of seeds would. Without
// that, a node that joined through a node cut off from the cluster, which
// then left, would stay an island: no node knows both it and the others.
func (w *world) join(in *instance, addr string) {
	for {
		if addr != "" {
			err := in.node.Add(addr)
			if errors.Is(err, cluster.ErrClosed) {
				return
			}
			if err == nil {
				addr = ""
			}
		}
		wait := w.s.Healthy
		if addr != "" {
			wait = w.s.Timeout
		}
		select {
		case <-in.node.Done():
			return
		case <-time.After(wait):
		}
		if addr != "" || len(in.node.Remotes()) == 0 {
			addr = w.seedAddr(in) // the seed that failed may have gone
		}
	}
}

// seedAddr returns the address of a live node that in may add: the one in
// the lowest slot but its own, not parted from it by CloseRemote; "" if none.
func (w *world) seedAddr(in *instance) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.slots {
		if o != nil && o != in && !w.apart[pairKey(in.addr, o.addr)] {
			return o.addr
		}
	}
	return ""
}

// The callbacks: each must come in order, and together they must add up to
// Remotes.

func (w *world) added(in *instance, r cluster.Remote) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := r.String()
	if in.members[a] {
		w.failLocked(in.String(), a, "RemoteAdded for a remote already added")
	}
	in.members[a] = true
	in.breaks[a]++
	// A pair that connects again (the other side, which did not hear the
	// goodbye, redialled) may be redialled again after a new loss.
	w.leaves = slices.DeleteFunc(w.leaves, func(l leave) bool { return l.from == in && l.to == a })
}

func (w *world) removed(in *instance, r cluster.Remote) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := r.String()
	if !in.members[a] {
		w.failLocked(in.String(), a, "RemoteRemoved for a remote not added")
	}
	delete(in.members, a)
	in.breaks[a]++
}

func (w *world) changed(in *instance, rs []cluster.Remote) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if got, want := addrs(rs), in.memberList(); !slices.Equal(got, want) {
		w.failLocked(in.String(), "-", "RemoteChanged says %v, RemoteAdded and RemoteRemoved %v", got, want)
	}
}

// memberList returns the remotes the callbacks reported, sorted. w.mu must
// be held.
func (in *instance) memberList() []string {
	var ms []string
	for a := range in.members {
		ms = append(ms, a)
	}
	slices.Sort(ms)
	return ms
}

func addrs(rs []cluster.Remote) []string {
	var as []string
	for _, r := range rs {
		as = append(as, r.String())
	}
	slices.Sort(as)
	return as
}

// observe checks the removals and records the goodbyes a node heard.
func (w *world) observe(in *instance, e cluster.Event) {
	if e.Kind != cluster.EventRemoved {
		return
	}
	to := e.Addr.String()
	w.mu.Lock()
	if errors.Is(e.Err, cluster.ErrRemoteLeave) || errors.Is(e.Err, cluster.ErrLocalLeave) {
		w.res.Leaves++
	} else {
		w.res.Removals++
	}
	w.mu.Unlock()
	switch {
	case errors.Is(e.Err, cluster.ErrRemoteLeave), errors.Is(e.Err, cluster.ErrLocalLeave):
		dials := w.fn.Dials(in.addr, to)
		w.mu.Lock()
		w.leaves = append(w.leaves, leave{from: in, to: to, dials: dials, at: w.now()})
		w.mu.Unlock()
	case errors.Is(e.Err, cluster.ErrSilence), errors.Is(e.Err, cluster.ErrWriteStalled):
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.excusedLocked(in, to) {
			w.failLocked(in.String(), to, "removed (%v) though no fault touched the link and both nodes lived for the last %v", e.Err, w.window())
		}
	}
}

// window is how far back a fault can explain a removal for silence or a
// stalled write.
func (w *world) window() time.Duration { return w.s.Healthy + 2*w.s.Timeout }

// excusedLocked reports whether a fault or a node's life explains that in
// removed the remote at addr for silence. w.mu must be held.
func (w *world) excusedLocked(in *instance, addr string) bool {
	now, win := w.now(), w.window()
	if in.gone != 0 || now-in.started < win {
		return true
	}
	r := w.byAddr[addr]
	if r == nil || r.gone != 0 || now-r.started < win || w.slots[r.slot] != r {
		return true
	}
	for _, nf := range w.history {
		if (nf.end == 0 || nf.end > now-win) && nf.separates(in.slot, r.slot) {
			return true
		}
	}
	return false
}
