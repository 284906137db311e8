package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
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
//     of all its other remotes (queuePeerList);
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

// queuePeerList queues, for p, which has just been registered, the list of
// every other remote if p is a join connection; admit forwards a list
// connection's address to the join remotes once it has let go of p.mu,
// whose lock must not be held while another peer's is taken. p.mu must be
// held. It fails only if the codec cannot encode the list.
func (n *Node) queuePeerList(p *peer) error {
	if !p.join {
		return nil
	}
	var addrs []string
	n.remotes.each(func(q *peer) {
		if q != p {
			addrs = append(addrs, q.key.String())
		}
	})
	if err := p.appendControl(wire.KindPeers, &wire.Peers{Addrs: addrs}); err != nil {
		return err
	}
	n.work.entries.Add(int64(len(addrs)))
	return nil
}

// forward tells every join remote but p of p, a new list remote, in a peer
// list of its own.
func (n *Node) forward(p *peer) {
	addrs := []string{p.key.String()}
	n.joined.each(func(q *peer) {
		if q == p {
			return
		}
		q.mu.Lock()
		err := q.appendControl(wire.KindPeers, &wire.Peers{Addrs: addrs})
		q.mu.Unlock()
		if err != nil {
			n.log.Error("cannot encode peer list", "remote", q.key.String(), "err", err)
			return
		}
		n.work.entries.Add(1)
	})
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
	if to == nil || len(addrs) < 2 {
		return
	}
	addrs = slices.DeleteFunc(addrs, func(a string) bool { return a == to.key.String() })
	to.mu.Lock()
	err := to.appendControl(wire.KindPeers, &wire.Peers{Addrs: addrs})
	to.mu.Unlock()
	if err != nil {
		n.emit(Event{Kind: EventPeerList, Addr: to.key, Err: err})
		return
	}
	n.work.entries.Add(int64(len(addrs)))
	to.signal()
}

// learn takes p's peer list: it queues a dial to every address the node does
// not know.
func (n *Node) learn(p *peer, addrs []string) error {
	var unknown []netip.AddrPort
	for _, a := range addrs {
		k, err := addr.Parse(a)
		if err != nil || k.Port() == 0 || k.Addr().IsUnspecified() {
			return fmt.Errorf("bad address %q", a)
		}
		if n.remotes.get(k) == nil {
			unknown = append(unknown, k)
		}
	}
	var skipped []netip.AddrPort
	defer func() {
		for _, k := range skipped {
			n.emit(Event{Kind: EventPeerListDial, Addr: k, Err: errListQueue})
		}
	}()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx.Err() != nil {
		return nil
	}
	now, dials := time.Now(), 0
	for i, k := range unknown {
		if i > 0 && i%learnBatch == 0 {
			// Let the node's other work in between batches of a long
			// list: n.mu is held for a batch at a time.
			n.mu.Unlock()
			n.mu.Lock()
			if n.ctx.Err() != nil {
				return nil
			}
		}
		_, gone := n.left[k]
		_, queued := n.pool.queued[k]
		// A dial to k under way (an Add, a redial) is queued too, and
		// joined rather than skipped, so that WaitMesh waits for it.
		if gone || queued || n.isSelf(k) || n.remotes.get(k) != nil || n.pool.recentlyFailed(k, now) {
			continue
		}
		if dials >= maxListAddrs || !n.queueDialLocked(p.key, k, 1) {
			skipped = append(skipped, k)
			continue
		}
		dials++
	}
	// The list counts as arrived once all of it is queued, so that a
	// WaitMesh between batches does not take the mesh for complete.
	if n.remotes.get(p.key) == p && !p.listed {
		p.listed = true
		n.unlisted--
		n.notifyLocked()
	}
	return nil
}

// learnBatch is how many addresses of a peer list learn looks at under one
// hold of n.mu.
const learnBatch = 256
