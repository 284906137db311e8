package cluster

import (
	"net/netip"
	"time"
)

// The node lock's critical sections for the dials the node makes on its own
// (dialpool.go) and the peer lists that cause them (peerlist.go): each takes
// one dial or one address, so that a long list or a large reconnect set
// holds the lock for one step at a time (see membership.go for the order of
// locks).

// nextDial takes the next dial for a dialer of redials or of list dials, and
// the time it must wait for its turn (the pool's pace). When there is none,
// or the node is closing, the dialer is counted out and ok is false.
func (m *membership) nextDial(redial bool) (src netip.AddrPort, j dialJob, wait time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() == nodeOpen {
		if src, j, ok = m.pool.next(redial); ok {
			return src, j, m.pool.reserve(time.Now()), true
		}
	}
	if redial {
		m.pool.redialers--
	} else {
		m.pool.dialers--
	}
	m.notifyLocked()
	return src, j, 0, false
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
