package cluster

import (
	"fmt"
	"net/netip"

	"github.com/peerweave/peerweave/internal/wire"
)

// The names of remotes. A remote is known by its address, as ever; its name
// says when a node that comes back at a new address is one the node knew at
// another: then the old address leaves the reconnect set. m.names maps
// each name to the address of the remote that is connected or redialled
// under it, and changes with the registry and the reconnect set, under
// the node lock (membership.go).

// nameVerdictLocked returns RejectName if p's name is this node's or that of
// a connected remote at another address, or 0. m.mu must be held.
func (m *membership) nameVerdictLocked(p *peer) wire.RejectCode {
	if p.name == "" {
		return 0
	}
	if p.name == m.name {
		return wire.RejectName
	}
	if q := m.remotes.get(m.names[p.name]); q != nil && q.name == p.name && q.key != p.key {
		return wire.RejectName
	}
	return 0
}

// claimNameLocked files p, just registered, under its name. If the name was
// that of a remote at another address that is being redialled, the node has
// moved: the old address leaves the reconnect set, and claimNameLocked
// returns it. m.mu must be held.
func (m *membership) claimNameLocked(p *peer) (moved netip.AddrPort) {
	if p.name == "" {
		return moved
	}
	if k, ok := m.names[p.name]; ok && k != p.key {
		if e := m.retry.get(k); e != nil && e.name == p.name {
			m.retry.remove(k)
			moved = k
		}
	}
	m.names[p.name] = p.key
	return moved
}

// retryLocked puts p, just unregistered, in the reconnect set. m.mu must be
// held.
func (m *membership) retryLocked(p *peer) {
	m.retry.put(p.key, p.name)
	if p.name != "" {
		m.names[p.name] = p.key
	}
}

// unretryLocked takes k out of the reconnect set. m.mu must be held.
func (m *membership) unretryLocked(k netip.AddrPort) {
	if e := m.retry.get(k); e != nil {
		m.retry.remove(k)
		m.forgetNameLocked(e.name, k)
	}
}

// forgetNameLocked forgets that name is at k, unless a remote of that name
// is still connected or redialled there. m.mu must be held.
func (m *membership) forgetNameLocked(name string, k netip.AddrPort) {
	if name == "" || m.names[name] != k {
		return
	}
	if q := m.remotes.get(k); q != nil && q.name == name {
		return
	}
	if e := m.retry.get(k); e != nil && e.name == name {
		return
	}
	delete(m.names, name)
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
