package cluster

import (
	"fmt"
	"net/netip"

	"github.com/peerweave/peerweave/internal/wire"
)

// The names of remotes. A remote is known by its address, as ever; its name
// says when a node that comes back at a new address is one the node knew at
// another: then the old address leaves the reconnect set. n.id.names maps
// each name to the address of the remote that is connected or redialled
// under it, and changes with the registry and the reconnect set, under
// n.mu.

// nameVerdictLocked returns RejectName if p's name is this node's or that of
// a connected remote at another address, or 0. n.mu must be held.
func (n *Node) nameVerdictLocked(p *peer) wire.RejectCode {
	if p.name == "" {
		return 0
	}
	if p.name == n.id.name {
		return wire.RejectName
	}
	if q := n.remotes.get(n.id.names[p.name]); q != nil && q.name == p.name && q.key != p.key {
		return wire.RejectName
	}
	return 0
}

// claimNameLocked files p, just registered, under its name. If the name was
// that of a remote at another address that is being redialled, the node has
// moved: the old address leaves the reconnect set, and claimNameLocked
// returns it. n.mu must be held.
func (n *Node) claimNameLocked(p *peer) (moved netip.AddrPort) {
	if p.name == "" {
		return moved
	}
	if k, ok := n.id.names[p.name]; ok && k != p.key {
		if name, retried := n.retry[k]; retried && name == p.name {
			delete(n.retry, k)
			moved = k
		}
	}
	n.id.names[p.name] = p.key
	return moved
}

// retryLocked puts p, just unregistered, in the reconnect set. n.mu must be
// held.
func (n *Node) retryLocked(p *peer) {
	n.retry[p.key] = p.name
	if p.name != "" {
		n.id.names[p.name] = p.key
	}
}

// unretryLocked takes k out of the reconnect set. n.mu must be held.
func (n *Node) unretryLocked(k netip.AddrPort) {
	if name, ok := n.retry[k]; ok {
		delete(n.retry, k)
		n.forgetNameLocked(name, k)
	}
}

// forgetNameLocked forgets that name is at k, unless a remote of that name
// is still connected or redialled there. n.mu must be held.
func (n *Node) forgetNameLocked(name string, k netip.AddrPort) {
	if name == "" || n.id.names[name] != k {
		return
	}
	if q := n.remotes.get(k); q != nil && q.name == name {
		return
	}
	if r, ok := n.retry[k]; ok && r == name {
		return
	}
	delete(n.id.names, name)
}

// identityError is the error of Add for a refusal of code, or nil for
// another code.
func identityError(code wire.RejectCode) error {
	switch code {
	case wire.RejectLabel:
		return fmt.Errorf("%w: %w", ErrRejected, ErrLabelMismatch)
	case wire.RejectName:
		return fmt.Errorf("%w: %w", ErrRejected, ErrNameConflict)
	}
	return nil
}
