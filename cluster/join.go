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
		n.markReached(k) // named by the application: redialled if lost
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
	if n.ownAddr(k) {
		if n.closing() {
			return ErrClosed
		}
		return nil
	}
	d, other, err := n.startDial(k, why.joins())
	switch {
	case err != nil:
		return err
	case other != nil:
		select {
		case <-other.done:
			return other.err
		case <-ctx.Done():
			return ctxErr(ctx)
		}
	case d == nil:
		return nil
	}
	d.err = n.connect(ctx, k, why)
	n.endDial(k, d)
	close(d.done)
	return d.err
}

// awaitRemote waits until k is a remote.
func (n *Node) awaitRemote(ctx context.Context, k netip.AddrPort) error {
	if err := n.waitUntil(ctx, func() bool { return n.remotes.get(k) != nil }); err != nil {
		return fmt.Errorf("remote kept a connection of its own that never came: %w", err)
	}
	return nil
}
