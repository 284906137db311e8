package cluster

import "net/netip"

// Which addresses the node redials. A remote says in its hello which address
// it listens on, and nothing proves it: a stranger could name a third party
// and make the node dial it every reconnect interval, forever. So the node
// trusts only what it has reached itself: an address it dialled and found
// the remote at, or that an Add named, is redialled after an ungraceful
// removal until it answers, as the spec wants. An address a remote merely
// claimed is redialled too, since an honest remote that only ever dialled
// the node may have crashed and come back knowing nobody, but only
// maxUnreachedRedials times unless one of them reaches it: then it is
// reached, and redialled like any other.

// maxReached bounds the addresses the node remembers having reached, and
// maxRetry the reconnect set; past the latter, a lost remote is not
// redialled (its own end may still redial it), and a warning says so. Honest clusters
// of up to about a thousand nodes never come near them.
const (
	maxReached = 1 << 14
	maxRetry   = 1 << 12
)

// maxUnreachedRedials is how many failed redials the node spends on an
// address it has never reached before it gives up on it.
const maxUnreachedRedials = 3

// reachedLocked remembers that the node reached k itself. m.mu must be
// held.
func (m *membership) reachedLocked(k netip.AddrPort) {
	if len(m.reached) < maxReached {
		m.reached[k] = struct{}{}
	}
}

// reachedBy remembers that the node reached p, which it dialled at k, by
// its own dial: found there, or named by an Add or a redial (join).
func (n *Node) reachedBy(p *peer, k netip.AddrPort, join bool) {
	if !join && p.key != k {
		return
	}
	n.markReached(p.key)
}

// mayRetryLocked reports whether k, a remote just lost, joins the reconnect
// set: not past maxRetry, which the caller warns of. m.mu must be held.
func (m *membership) mayRetryLocked(k netip.AddrPort) bool {
	return m.retry.has(k) || m.retry.len() < maxRetry
}

// warnRetryFull warns that the lost remote k is not redialled.
func (n *Node) warnRetryFull(k netip.AddrPort) {
	n.log.Warn("reconnect set full: not redialling a lost remote", "remote", k.String(), "limit", maxRetry)
}

// retryCut puts k in the reconnect set after a dial on the node's own
// behalf that was cut short after its hello: the acceptor may have taken
// the connection and, not having reached k itself, leaves the redial to
// this end.
func (n *Node) retryCut(k netip.AddrPort) {
	if n.retryAfterCut(k) {
		n.warnRetryFull(k)
	}
}

// givesUpLocked reports whether the node stops redialling k after fails
// failed redials: only an address it never reached, after
// maxUnreachedRedials. m.mu must be held.
func (m *membership) givesUpLocked(k netip.AddrPort, fails int) bool {
	_, reached := m.reached[k]
	return !reached && fails >= maxUnreachedRedials
}
