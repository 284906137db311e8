package cluster

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/peerweave/peerweave/internal/addr"
)

// dialing is a connection this node is setting up; others that want the same
// remote wait for it.
type dialing struct {
	done  chan struct{}
	err   error
	alias netip.AddrPort // the address the remote gave in its hello, if another
	join  bool           // dialled on the node's own behalf: see wins
}

// Add joins the node to another node at the remote address specified.
//
// It returns once the remote is connected, or is already, or raddr turns out
// to be this node's own address. When it returns nil after connecting, the
// remote has registered this node as well: it lists it in its Remotes and
// may Send to it at once, though its RemoteAdded callback, which runs on a
// goroutine of its own, may not have run yet. The remote then shares every remote it
// knows, and this node every remote it knows, so that both clusters become
// one full mesh: WaitMesh waits for that. Add waits at most the network
// timeout. An empty host means this machine (127.0.0.1); a host name is
// looked up, and its first address used.
func (n *Node) Add(raddr string) error { return n.AddContext(context.Background(), raddr) }

// AddContext is Add with a context that can cut it short.
func (n *Node) AddContext(ctx context.Context, raddr string) error {
	k, err := addr.Resolve(ctx, nil, raddr)
	if err == nil {
		err = n.join(ctx, k, byAdd)
	}
	if err != nil {
		return fmt.Errorf("cluster: add %s: %w", raddr, err)
	}
	return nil
}

// join connects to k unless it is known already, or waits for a connection
// to k that is under way. why says whether the node dials on its own behalf
// (Add, reconnect) or because a peer list named k.
func (n *Node) join(ctx context.Context, k netip.AddrPort, why dialCause) error {
	n.mu.Lock()
	if n.ctx.Err() != nil {
		n.mu.Unlock()
		return ErrClosed
	}
	if n.isSelf(k) || n.remotes.get(k) != nil {
		n.mu.Unlock()
		return nil
	}
	if d := n.dialing[k]; d != nil {
		n.mu.Unlock()
		select {
		case <-d.done:
			return d.err
		case <-ctx.Done():
			return ctxErr(ctx)
		}
	}
	d := &dialing{done: make(chan struct{}), join: why.joins()}
	n.dialing[k] = d
	n.mu.Unlock()

	d.err = n.connect(ctx, k, why)

	n.mu.Lock()
	delete(n.dialing, k)
	if d.alias.IsValid() && n.dialing[d.alias] == d {
		delete(n.dialing, d.alias)
	}
	n.mu.Unlock()
	close(d.done)
	return d.err
}

// isSelf reports whether k reaches this node. n.mu must be held.
func (n *Node) isSelf(k netip.AddrPort) bool {
	_, found := n.selves[k]
	return found || n.ownAddr(k)
}

// markSelf remembers addresses found to reach this node.
func (n *Node) markSelf(ks ...netip.AddrPort) {
	n.mu.Lock()
	for _, k := range ks {
		n.selves[k] = struct{}{}
	}
	n.mu.Unlock()
}

// aliasDialing files a connection under way under the identity the remote
// gave in its hello, so that a connection from that remote sees it.
func (n *Node) aliasDialing(dialled, k netip.AddrPort) {
	n.mu.Lock()
	if d := n.dialing[dialled]; d != nil && n.dialing[k] == nil {
		n.dialing[k] = d
		d.alias = k
	}
	n.mu.Unlock()
}

// awaitRemote waits until k is a remote.
func (n *Node) awaitRemote(ctx context.Context, k netip.AddrPort) error {
	if err := n.waitUntil(ctx, func() bool { return n.remotes.get(k) != nil }); err != nil {
		return fmt.Errorf("remote kept a connection of its own that never came: %w", err)
	}
	return nil
}
