package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/peerweave/peerweave/internal/addr"
	"github.com/peerweave/peerweave/internal/wire"
)

// How peer lists make a full mesh, at a cost linear in the cluster's size
// for each node that joins.
//
// A connection is a join connection if its dialler made it on its own
// behalf (Add, a redial: wire.Hello.Join), and a list connection if it
// dialled an address from a peer list. Both ends know which. Then:
//
//   - when a node registers a join connection, it sends the remote the list
//     of all its other remotes (sendPeerList);
//   - when it registers a list connection, it sends the new remote's address
//     to each of its join remotes (forward), and nothing to the new remote.
//
// Every node that dials or is dialled from a list was named by a node that
// knew both ends, so list connections need no list of their own. What this
// keeps is the rule that makes a mesh: if U is a remote of A, and A and B
// share a join connection, U and B are told of each other, whichever
// registered first at A (the full list to B names U; the forward to B names
// U). A node that joins a cluster through B thus meets every remote of B, and
// then every join remote of those, and so on across every Add that made the
// cluster. In a crowd that joins one seed at once, the seed sends each joiner
// the remotes registered before it, each pair of nodes dials once, and a node
// sends entries of the order of the cluster's size, not of its square as when
// every connection carried a full list each way. Since each pair is
// introduced by one node, a node also gossips its list to one random remote
// every healthy interval, which heals what a node that crashed or left
// mid-introduction left undone.

// maxListDials bounds the dials to peer-list addresses a node has in flight at
// once, so that a crowd joining at once does not make every node dial every
// other at the same moment: the rest wait in the node's queue, and the
// network timeout of a dial starts only when it is dialled. The fewer
// handshakes are under way in a crowd, the sooner the seed answers the Adds
// still waiting for it: with 500 nodes in one process on 2 cores, the last
// Add took about 3 s at 4, 9 s at 8.
const maxListDials = 4

// maxListAttempts is how often a peer-list address whose dial timed out is
// dialled before the node gives up on it: a pair of nodes is introduced once,
// so a dial lost to a moment of overload would otherwise leave a hole in the
// mesh. An address that refuses, or rejects the node, is not dialled again.
const maxListAttempts = 3

// maxListQueue bounds the addresses waiting for a dial (dialpool.go); past
// it, or past the source's own bound, an address is skipped with a debug
// log. A cluster of honest nodes never comes near it.
const maxListQueue = 1 << 16

// maxListAddrs bounds the addresses of one peer list that the node dials:
// the rest are skipped, as a full queue skips them.
const maxListAddrs = 4096

// errListQueue is why an address from a peer list was not dialled.
var errListQueue = errors.New("too many peer-list dials waiting")

// sendPeerList queues, for p, a join connection just registered, the list
// of every other remote, gathered outside every lock. It sees every remote
// registered before p; those registered after hear of p or tell p of
// themselves by forward. p is held in n.fwd from before its registration
// until its list is queued, so that no forward and no gossip overtakes it:
// the remote takes its first peer list as the list it waits for. It fails
// only if the codec cannot encode the list.
func (n *Node) sendPeerList(p *peer) error {
	defer n.fwd.release(p)
	var addrs []string
	n.remotes.each(func(q *peer) {
		if q != p {
			addrs = append(addrs, q.key.String())
		}
	})
	if err := p.queueControl(wire.KindPeers, &wire.Peers{Addrs: addrs}); err != nil {
		return err
	}
	n.work.entries.Add(int64(len(addrs)))
	return nil
}

// forward tells every join remote but p of p, a new list remote.
func (n *Node) forward(p *peer) {
	a := p.key.String()
	n.joined.each(func(q *peer) {
		if q != p {
			n.fwd.add(q, a)
		}
	})
}

// forwards gathers the addresses to tell each join remote of, until
// forwardLoop sends them as one peer list, so that a burst of registrations
// costs a frame per remote and round of the loop, not per address.
type forwards struct {
	mu      sync.Mutex // guards pending and held; taken alone
	pending map[*peer][]string
	// held are the join remotes whose own peer list is not queued yet:
	// what is gathered for them waits for it (sendPeerList).
	held map[*peer]struct{}
	wake chan struct{} // capacity 1: pending may have something
}

func (f *forwards) init() {
	f.pending = make(map[*peer][]string)
	f.held = make(map[*peer]struct{})
	f.wake = make(chan struct{}, 1)
}

// hold keeps what is gathered for p, about to be registered, until
// release.
func (f *forwards) hold(p *peer) {
	f.mu.Lock()
	f.held[p] = struct{}{}
	f.mu.Unlock()
}

// release sends what was gathered for p from now on.
func (f *forwards) release(p *peer) {
	f.mu.Lock()
	delete(f.held, p)
	f.mu.Unlock()
	f.signal()
}

// isHeld reports whether p's own peer list is not queued yet.
func (f *forwards) isHeld(p *peer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.held[p]
	return ok
}

func (f *forwards) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// add gathers addrs for p.
func (f *forwards) add(p *peer, addrs ...string) {
	f.mu.Lock()
	f.pending[p] = append(f.pending[p], addrs...)
	f.mu.Unlock()
	f.signal()
}

// take returns what was gathered for the remotes not held, and starts
// gathering anew.
func (f *forwards) take() map[*peer][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.pending
	f.pending = make(map[*peer][]string)
	for p := range f.held {
		if addrs, ok := m[p]; ok {
			f.pending[p] = addrs
			delete(m, p)
		}
	}
	return m
}

// forwardLoop sends the gathered addresses of each join remote as one peer
// list, gathered outside every lock, until the node closes.
func (n *Node) forwardLoop() {
	for {
		select {
		case <-n.fwd.wake:
		case <-n.ctx.Done():
			return
		}
		for p, addrs := range n.fwd.take() {
			if n.remotes.get(p.key) != p {
				continue // gone meanwhile: nobody to tell
			}
			if err := p.queueControl(wire.KindPeers, &wire.Peers{Addrs: addrs}); err != nil {
				n.log.Error("cannot encode peer list", "remote", p.key.String(), "err", err)
				continue
			}
			n.work.entries.Add(int64(len(addrs)))
		}
	}
}

// gossip sends the list of every remote to one remote picked at random, once
// every healthy interval. A pair of nodes is introduced by one node, which may
// crash or leave before it does; any of the nodes that know both ends heals
// such a hole when it picks one of them, so it lasts an interval or two, for a
// list per node per interval.
func (n *Node) gossip() {
	var to *peer
	var addrs []string
	seen := 0
	n.remotes.each(func(q *peer) {
		seen++
		if n.randIntN(seen) == 0 { // each remote is picked with chance 1/seen
			to = q
		}
		addrs = append(addrs, q.key.String())
	})
	if to == nil || len(addrs) < 2 || n.fwd.isHeld(to) {
		return
	}
	addrs = slices.DeleteFunc(addrs, func(a string) bool { return a == to.key.String() })
	if err := to.queueControl(wire.KindPeers, &wire.Peers{Addrs: addrs}); err != nil {
		n.emit(Event{Kind: EventPeerList, Addr: to.key, Err: err})
		return
	}
	n.work.entries.Add(int64(len(addrs)))
}

// learn takes p's peer list: it queues a dial to every address the node does
// not know, one address under each hold of the node lock.
func (n *Node) learn(p *peer, addrs []string) error {
	var unknown []netip.AddrPort
	for _, a := range addrs {
		k, err := addr.Parse(a)
		if err != nil || k.Port() == 0 || k.Addr().IsUnspecified() {
			return fmt.Errorf("bad address %q", a)
		}
		if !n.ownAddr(k) && n.remotes.get(k) == nil {
			unknown = append(unknown, k)
		}
	}
	var skipped []netip.AddrPort
	now, dials := time.Now(), 0
	defer func() {
		for _, k := range skipped {
			n.emit(Event{Kind: EventPeerListDial, Addr: k, Err: errListQueue})
		}
	}()
	for _, k := range unknown {
		switch n.learnOne(p.key, k, now, dials < maxListAddrs) {
		case learnClosing:
			return nil
		case learnSkipped:
			skipped = append(skipped, k)
		case learnSpawn:
			n.spawnDialer(false)
			dials++
		case learnQueued:
			dials++
		}
	}
	// The list counts as arrived once all of it is queued, so that a
	// WaitMesh meanwhile does not take the mesh for complete, and once
	// its event is out, so that an Observer has it before WaitMesh returns.
	n.emit(Event{Kind: EventPeerList, Addr: p.key, Count: len(addrs)})
	n.listed(p)
	return nil
}
