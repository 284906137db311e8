package cluster

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/peerweave/peerweave/internal/addr"
	"github.com/peerweave/peerweave/internal/wire"
)

// maxListDials bounds the dials to peer-list addresses in flight at once; an
// address skipped for want of room comes back in the next list.
const maxListDials = 256

// errListDials is why an address from a peer list was not dialled.
var errListDials = errors.New("too many peer-list dials in flight")

// queuePeerList queues the list of every other remote for p, which has just
// been registered. Both sides of every connection send theirs, which is
// enough for a full mesh: of two nodes that share a neighbour, the one it
// registers second gets a list naming the first. p.mu must be held. It
// fails only if the codec cannot encode the list.
func (n *Node) queuePeerList(p *peer) error {
	var addrs []string
	n.remotes.each(func(q *peer) {
		if q != p {
			addrs = append(addrs, q.key.String())
		}
	})
	return p.appendControl(wire.KindPeers, &wire.Peers{Addrs: addrs})
}

// learn takes p's peer list: it dials every address the node does not know.
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
			n.emit(Event{Kind: EventPeerListDial, Addr: k, Err: errListDials})
		}
	}()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx.Err() != nil {
		return nil
	}
	if n.remotes.get(p.key) == p && !p.listed {
		p.listed = true
		n.unlisted--
		n.notifyLocked()
	}
	for _, k := range unknown {
		_, gone := n.left[k]
		// A dial to k under way (an Add, a redial) is joined rather than
		// skipped, so that WaitMesh waits for it.
		if gone || n.isSelf(k) || n.remotes.get(k) != nil {
			continue
		}
		if n.listDials >= maxListDials {
			skipped = append(skipped, k)
			continue
		}
		n.listDials++
		n.wg.Go(func() {
			n.emit(Event{Kind: EventPeerListDial, Addr: k, Err: n.join(n.ctx, k, false)})
			n.mu.Lock()
			n.listDials--
			n.notifyLocked()
			n.mu.Unlock()
		})
	}
	return nil
}
