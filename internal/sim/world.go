package sim

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
)

// Logger, when set, receives the records of every node of a run (at debug
// level), to see why a seed fails. Nil discards them.
var Logger *slog.Logger

// world is one run: the network, the slots and their nodes, and everything
// the checks need to know of the past. Its fields are guarded by mu but for
// those only the run's own goroutine touches.
type world struct {
	s     Schedule
	start time.Time
	fn    *fault.Network
	mem   *mem.Network

	mu         sync.Mutex
	slots      []*instance          // each slot's live node, nil while it has none
	gens       []int                // each slot's address generation
	names      []int                // each slot's name generation
	byAddr     map[string]*instance // the last node that listened at each address
	insts      map[int]*instance    // every node, by id
	nextID     int
	keyring    [][]byte // the secrets a new node starts with
	rotations  int
	violations []Violation
	res        Result // the counts
	sent       map[msgID]*sent
	got        map[msgID]bool
	active     []*netFault // network faults in force
	history    []*netFault // every fault that lasts, for the checks
	partings   []parting
	apart      map[[2]string]bool
	leaves     []leave
	pending    map[int]*request
	nextReq    int
	stop       chan struct{} // closed when the workload stops
	work       sync.WaitGroup
	bg         sync.WaitGroup
}

// leave is a graceful goodbye that a node heard: from then on it must not
// dial the leaver.
type leave struct {
	from  *instance
	to    string
	dials int
	at    time.Duration
}

// Run runs the schedule and returns what it found. It must be called inside
// a testing/synctest bubble (synctest.Test), which it fills with the nodes'
// goroutines; all of them have ended when it returns.
func Run(s Schedule) Result {
	s.Config = s.Config.withDefaults()
	w := &world{
		s:       s,
		start:   time.Now(),
		fn:      fault.NewNetwork(),
		mem:     mem.NewNetwork(),
		byAddr:  make(map[string]*instance),
		insts:   make(map[int]*instance),
		keyring: [][]byte{secret(0)},
		sent:    make(map[msgID]*sent),
		got:     make(map[msgID]bool),
		apart:   make(map[[2]string]bool),
		pending: make(map[int]*request),
		stop:    make(chan struct{}),
	}
	slots := s.Nodes
	for _, f := range s.Faults {
		slots = max(slots, f.A+1, f.B+1)
	}
	w.slots, w.gens, w.names = make([]*instance, slots), make([]int, slots), make([]int, slots)
	label := fmt.Sprint(runs.Add(1))
	pprof.Do(context.Background(), pprof.Labels(runLabel, label), func(context.Context) {
		w.boot()
		w.play()
		w.settle()
		w.check()
		w.shutdown()
	})
	if n, stacks := leaked(label); n > 0 {
		w.fail("-", "-", "%d goroutines still run after every node closed:\n%s", n, stacks)
	}
	w.res.Violations, w.res.Virtual = w.violations, w.now()
	return w.res
}

func (w *world) now() time.Duration { return time.Since(w.start) }

// secret is the cluster's secret of a generation of rotations: 32 bytes or
// more, as WithSecrets requires.
func secret(gen int) []byte {
	return fmt.Appendf(nil, "the simulated cluster's secret, generation %d", gen)
}

// boot starts the first nodes, each joining the first, and waits for the
// mesh: faults begin on a whole cluster.
func (w *world) boot() {
	first := w.launch(0, -1)
	for slot := 1; slot < w.s.Nodes; slot++ {
		w.launch(slot, 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.s.Healthy+w.s.Timeout)
	defer cancel()
	want := w.s.Nodes - 1
	for _, in := range w.live() {
		if err := in.node.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == want }); err != nil {
			w.fail(in.String(), "-", "the first %d nodes did not make a mesh through %s: %v", w.s.Nodes, first, err)
		}
	}
}

// live returns the slots' live nodes.
func (w *world) live() []*instance {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ins []*instance
	for _, in := range w.slots {
		if in != nil {
			ins = append(ins, in)
		}
	}
	return ins
}

// at returns the live node of a slot, or nil.
func (w *world) at(slot int) *instance {
	w.mu.Lock()
	defer w.mu.Unlock()
	if slot < 0 || slot >= len(w.slots) {
		return nil
	}
	return w.slots[slot]
}

// action is a fault's start or end, at a point of the schedule.
type action struct {
	at  time.Duration
	seq int
	do  func()
}

// play runs the schedule's faults, and the workload meanwhile, until
// Duration; then everything heals.
func (w *world) play() {
	var acts []action
	for i, f := range w.s.Faults {
		start, end := w.fault(f)
		acts = append(acts, action{at: f.At, seq: 2 * i, do: start})
		if end != nil {
			acts = append(acts, action{at: f.At + f.For, seq: 2*i + 1, do: end})
		}
	}
	slices.SortFunc(acts, func(a, b action) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
	})
	for _, a := range acts {
		time.Sleep(a.at - w.now())
		a.do()
	}
	time.Sleep(w.s.Duration - w.now())
	close(w.stop)
	w.work.Wait()
	w.mu.Lock()
	for _, nf := range w.active {
		nf.end = w.now()
	}
	w.active = nil
	w.mu.Unlock()
	w.reapply()
	w.fn.ShapeAll(fault.Link{})
}

// settle waits for the cluster to converge after the last heal: by default
// the healthy interval for a check, the network timeout for a removal, the
// reconnect interval for a redial.
func (w *world) settle() {
	time.Sleep(w.s.Settle)
}

// shutdown closes every live node and waits for every goroutine of the run,
// the links' too: a shaped link lingers a second past its latency to
// deliver what a closed connection left in it.
func (w *world) shutdown() {
	for _, in := range w.live() {
		w.bg.Go(in.node.Close)
	}
	w.bg.Wait()
	linger := time.Second
	for _, f := range w.s.Faults {
		linger = max(linger, f.Link.Latency+time.Second)
	}
	time.Sleep(linger + time.Second)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.pending {
		w.failLocked(r.from.String(), r.to, "%s started at %v never ended", r.what, r.at)
	}
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// discard is the logger of a run without Logger.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
