package cluster

import (
	"net/netip"
	"slices"
	"sync"
)

// registry is the set of connected remotes, each under the key of its listen
// address. Senders look remotes up without a lock; the node changes the set
// only under n.mu, in removeLocked and admit, so that checks and changes of
// membership are atomic with each other.
type registry struct{ m sync.Map } // netip.AddrPort -> *peer

// get returns the peer registered for k, or nil.
func (r *registry) get(k netip.AddrPort) *peer {
	p, _ := r.m.Load(k)
	q, _ := p.(*peer)
	return q
}

// each calls f for every registered peer. A peer added or removed meanwhile
// may or may not be seen.
func (r *registry) each(f func(*peer)) {
	r.m.Range(func(_, v any) bool {
		f(v.(*peer))
		return true
	})
}

// peers returns the registered peers.
func (r *registry) peers() []*peer {
	var ps []*peer
	r.each(func(p *peer) { ps = append(ps, p) })
	return ps
}

// Remotes returns a slice of all remotes known by the node, sorted by
// address. The slice and the Remotes in it are the caller's.
func (n *Node) Remotes() []Remote {
	var keys []netip.AddrPort
	n.remotes.each(func(p *peer) { keys = append(keys, p.key) })
	return remoteList(keys)
}

// remoteList turns keys into Remotes, sorted by address.
func remoteList(keys []netip.AddrPort) []Remote {
	slices.SortFunc(keys, compareKeys)
	rs := make([]Remote, len(keys))
	for i, k := range keys {
		rs[i] = remoteOf(k)
	}
	return rs
}

// removeLocked unregisters p if it is the registered connection for its
// remote, and reports whether it was. n.mu must be held.
func (n *Node) removeLocked(p *peer) bool {
	if n.remotes.get(p.key) != p {
		return false
	}
	n.remotes.m.Delete(p.key)
	p.endConversations(ErrRemoteLost)
	n.joined.m.CompareAndDelete(p.key, p)
	delete(n.nonces, string(p.nonce))
	n.forgetNameLocked(p.name, p.key)
	if !p.listed {
		n.unlisted--
	}
	n.notifyLocked()
	n.events.push(event{key: p.key})
	return true
}

// drop removes a remote whose connection failed and keeps retrying it. The
// messages queued for it are lost, and the warning says how many.
func (n *Node) drop(p *peer, err error) {
	leaving, discarded := p.link.Abort()
	if leaving {
		// A goodbye is under way; whoever started it finishes it.
		p.shutdown()
		return
	}
	n.mu.Lock()
	removed := n.removeLocked(p)
	if removed && n.ctx.Err() == nil && n.mayRetryLocked(p.key) {
		n.retryLocked(p)
	}
	n.mu.Unlock()
	p.shutdown()
	if !removed {
		return
	}
	n.emit(Event{Kind: EventRemoved, Addr: p.key, Err: lostCause(err), Count: discarded})
}
