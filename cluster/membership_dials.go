package cluster

import (
	"net/netip"
	"time"
)

// The node lock's critical sections for the dials the node makes (join.go,
// dialpool.go), the peer lists that cause them (peerlist.go), and the
// remotes that go: redialled (redial.go) or left (leave.go). Each takes one
// dial or one address, so that a long list or a large reconnect set holds
// the lock for one step at a time (see membership.go for the order of
// locks).

// nextDial takes the next dial for a dialer of redials or of list dials, and
// the time it must wait for its turn (the pool's pace). A dial that is no
// longer wanted, to an address that left since it was queued or a redial
// of one no longer in the reconnect set, is taken off as done, and stale
// says so. When there is none, or the node is closing, the dialer is
// counted out and ok is false.
func (m *membership) nextDial(redial bool) (src netip.AddrPort, j dialJob, wait time.Duration, ok, stale bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() == nodeOpen {
		if src, j, ok = m.pool.next(redial); ok {
			_, gone := m.left.get(j.k)
			if gone || (src == redials && !m.retry.has(j.k)) {
				m.dialedLocked(src, j, nil, 0)
				return src, j, 0, true, true
			}
			return src, j, m.pool.reserve(time.Now()), true, false
		}
	}
	if redial {
		m.pool.redialers--
	} else {
		m.pool.dialers--
	}
	m.notifyLocked()
	return src, j, 0, false, false
}

// dialed records the outcome err of dial j for src; a list dial that failed
// is not dialled from lists again for failFor. It reports whether a dialer
// is to be started for a list dial queued again, and gaveUp if the node
// stops redialling j's address.
func (m *membership) dialed(src netip.AddrPort, j dialJob, err error, failFor time.Duration) (spawn bool, gaveUp int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dialedLocked(src, j, err, failFor)
}

// redialTick starts a reconnect interval, and returns how many addresses
// the reconnect set holds for redialNext to look at.
func (m *membership) redialTick() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pool.tick++
	return m.retry.len()
}

// redialNext looks at the address of the reconnect set whose turn it is,
// and queues a redial of it if its backoff has passed and no dial to it is
// queued or under way. It reports whether a redialer is to be started, and
// false for more once the node is closing.
func (m *membership) redialNext() (spawn, more bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() != nodeOpen {
		return false, false
	}
	e := m.retry.rotate()
	if e == nil {
		return false, false
	}
	_, queued := m.pool.queued[e.key]
	if queued || m.dialing[e.key] != nil || e.next > m.pool.tick {
		return false, true
	}
	_, spawn = m.queueDialLocked(redials, e.key, 1)
	return spawn, true
}

// learnOutcome is what learnOne did with an address of a peer list.
type learnOutcome uint8

const (
	learnKnown   learnOutcome = iota // known, left, queued or failed lately: nothing to do
	learnQueued                      // a dial is queued
	learnSpawn                       // a dial is queued, and a dialer is to be started
	learnSkipped                     // no room to queue it
	learnClosing                     // the node is closing: the rest of the list too is left
)

// learnOne queues a dial to k, named by the peer list of src, unless the
// node knows k, or may not queue more (room is false) or has no room.
func (m *membership) learnOne(src, k netip.AddrPort, now time.Time, room bool) learnOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() != nodeOpen {
		return learnClosing
	}
	_, gone := m.left.get(k)
	_, queued := m.pool.queued[k]
	_, self := m.selves[k]
	// A dial to k under way (an Add, a redial) is queued too, and joined
	// rather than skipped, so that WaitMesh waits for it.
	if gone || queued || self || m.remotes.get(k) != nil || m.pool.recentlyFailed(k, now) {
		return learnKnown
	}
	if !room {
		return learnSkipped
	}
	ok, spawn := m.queueDialLocked(src, k, 1)
	switch {
	case !ok:
		return learnSkipped
	case spawn:
		return learnSpawn
	}
	return learnQueued
}

// startDial files a dial of k by the node, a join dial if join is set. It
// returns the dial to wait for instead if one to k is under way, and
// neither if k is a remote or this node already; ErrClosed once the node
// is closing.
func (m *membership) startDial(k netip.AddrPort, join bool) (mine, other *dialing, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() != nodeOpen {
		return nil, nil, ErrClosed
	}
	if _, self := m.selves[k]; self || m.remotes.get(k) != nil {
		return nil, nil, nil
	}
	if d := m.dialing[k]; d != nil {
		return nil, d, nil
	}
	d := &dialing{done: make(chan struct{}), join: join}
	m.dialing[k] = d
	return d, nil, nil
}

// endDial forgets d, the dial of k, under both its names.
func (m *membership) endDial(k netip.AddrPort, d *dialing) {
	m.mu.Lock()
	delete(m.dialing, k)
	if d.alias.IsValid() && m.dialing[d.alias] == d {
		delete(m.dialing, d.alias)
	}
	m.mu.Unlock()
}

// aliasDialing files the dial of dialled under k too, the identity the
// remote gave in its hello, so that a connection from that remote sees it.
func (m *membership) aliasDialing(dialled, k netip.AddrPort) {
	m.mu.Lock()
	if d := m.dialing[dialled]; d != nil && m.dialing[k] == nil {
		m.dialing[k] = d
		d.alias = k
	}
	m.mu.Unlock()
}

// markSelf remembers addresses found to reach this node.
func (m *membership) markSelf(ks ...netip.AddrPort) {
	m.mu.Lock()
	for _, k := range ks {
		m.selves[k] = struct{}{}
	}
	m.mu.Unlock()
}

// markReached remembers that the node reached k itself.
func (m *membership) markReached(k netip.AddrPort) {
	m.mu.Lock()
	m.reachedLocked(k)
	m.mu.Unlock()
}

// removeLost unregisters p, whose connection failed, if it is registered,
// and puts its remote in the reconnect set unless the node is closing. It
// reports whether p was registered, and full if the reconnect set had no
// room for it.
func (m *membership) removeLost(p *peer) (removed, full bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if removed = m.removeLocked(p); !removed || m.state.get() != nodeOpen {
		return removed, false
	}
	if !m.mayRetryLocked(p.key) {
		return true, true
	}
	m.retryLocked(p)
	return true, false
}

// removeLeaver unregisters p, whose remote leaves gracefully, and remembers the
// leaver. It reports whether p was registered.
func (m *membership) removeLeaver(p *peer) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	removed := m.removeLocked(p)
	m.markLeft(p.key, p.nonce)
	return removed
}

// closeRemote remembers that k leaves gracefully, and returns its
// connection, if any.
func (m *membership) closeRemote(k netip.AddrPort) *peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.remotes.get(k)
	var nonce []byte
	if p != nil {
		nonce = p.nonce
	}
	m.markLeft(k, nonce)
	return p
}

// goneOnRefusal takes a RejectGone to the node's own dial of k, from the
// instance of nonce, as a confirmed goodbye at k: k is filed as left and no
// longer redialled (markLeft unretries it).
func (m *membership) goneOnRefusal(k netip.AddrPort, nonce []byte) {
	m.mu.Lock()
	m.markLeft(k, nonce)
	m.mu.Unlock()
}

// retryAfterCut puts k in the reconnect set, if the node is open and k is
// neither a remote nor there already. It reports full if the set had no
// room for it.
func (m *membership) retryAfterCut(k netip.AddrPort) (full bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.retry.has(k) || m.state.get() != nodeOpen || m.remotes.get(k) != nil {
		return false
	}
	if !m.mayRetryLocked(k) {
		return true
	}
	m.retry.put(k, "")
	return false
}

// retrying reports whether k is in the reconnect set.
func (m *membership) retrying(k netip.AddrPort) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.retry.has(k)
}

// reconnecting returns the size of the reconnect set.
func (m *membership) reconnecting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.retry.len()
}

// nameRedialledElsewhere returns where the node redials the remote whose
// name p claims, if it is another address than p's: a claim that moves the
// name, which confirmClaim checks first (confirm.go).
func (m *membership) nameRedialledElsewhere(p *peer) (holder netip.AddrPort, ok bool) {
	if p.name == "" {
		return netip.AddrPort{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	holder, named := m.names[p.name]
	if !named || holder == p.key {
		return netip.AddrPort{}, false
	}
	e := m.retry.get(holder)
	return holder, e != nil && e.name == p.name
}

// reserveUnlessDialling takes a token of the dial pool for a dial of k and
// returns how long to wait for it, or 0 if a dial of k is under way: one to
// join rather than pay for (confirm.go).
func (m *membership) reserveUnlessDialling(k netip.AddrPort) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dialing[k] != nil {
		return 0
	}
	return m.pool.reserve(time.Now())
}
