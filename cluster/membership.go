package cluster

import (
	"net/netip"
	"sync"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// The node lock, and the order of every lock of the package.
//
// membership.mu, the node lock, is taken only in this file and in
// membership_dials.go: every other file asks a method of membership, whose
// critical section is constant work, with no I/O, no codec call and no user
// code. The methods named ...Locked, and markLeft, are called with it held.
//
// Locks are taken in this order, never the other way round:
//
//  1. membership.mu, the node lock. Inside it: a peer's mu, by register
//     only, to start a connection's link with its first frames before it
//     is published; and events.mu, by events.push, so that events are
//     queued in the order of the changes they report. Nothing else.
//  2. a peer's mu (peer.go), the lock of its encoder: control messages are
//     encoded and queued under it in the order the connection carries
//     them. Inside it: identity.mu, to read the node's tags, and the
//     link's mu (internal/link), to queue the frame.
//  3. inbound.mu (inbox.go) and conversations.waitMu (request.go): inside
//     either, conversations.mu, then, once it is let go, Query.mu, as a
//     reply is handed to its caller (tryServe, end).
//  4. conversations.mu and Query.mu (query.go): nothing inside them.
//  5. a link's mu, and the progress watcher's (internal/link): nothing
//     inside them, and no Handler call under them.
//
// Every other lock is taken alone, with none held and none taken inside
// it: nodeStats.mu (stats.go), forwards.mu (peerlist.go), backlog.mu
// (inbox.go), handling.mu (handler.go), peerConv.mu (serve.go), and
// events.mu outside the node lock.
//
// Nothing waits while it holds any of them.

// membership is who the node is connected to, dialling, redialling and has
// parted from, and whether it is open: every field that changes with
// admission and removal, under one lock, so that a check and the change it
// allows are atomic.
type membership struct {
	// remotes is the set of connected remotes: read without a lock,
	// changed under mu.
	remotes registry
	// joined is the set of remotes on join connections, which hear of
	// every list connection the node registers (peerlist.go): read without
	// a lock, changed under mu with remotes.
	joined registry

	// Set by initMembership, then immutable.
	nonce []byte  // this node instance's, from its hellos
	name  string  // this node's name
	ev    *events // where changes of membership are queued, in order

	mu sync.Mutex // the node lock: guards every field below
	// state is where the node is in its life (nodestate.go): changed
	// under mu, read without it.
	state   stateVar
	nonces  map[string]*peer            // the registered peers by nonce
	dialing map[netip.AddrPort]*dialing // connections being set up by this node
	selves  map[netip.AddrPort]struct{} // addresses found to reach this very node
	changed chan struct{}               // closed and replaced whenever membership or the mesh's progress changes
	// unlisted counts the remotes whose peer list has not arrived yet.
	unlisted int
	// names maps the name of every remote that is connected or redialled
	// to its address (names.go).
	names map[string]netip.AddrPort
	// retry is the reconnect set (redial.go), reached the addresses the
	// node may redial (reached.go), left the graceful leavers (leave.go)
	// and pool the dials the node makes on its own (dialpool.go).
	retry   reconnectSet
	reached map[netip.AddrPort]struct{}
	left    leavers
	pool    dialPool
}

// initMembership sets m up for a node of nonce and name.
func (m *membership) initMembership(nonce []byte, name string, ev *events) {
	m.nonce, m.name, m.ev = nonce, name, ev
	m.nonces = make(map[string]*peer)
	m.dialing = make(map[netip.AddrPort]*dialing)
	m.selves = make(map[netip.AddrPort]struct{})
	m.changed = make(chan struct{})
	m.names = make(map[string]netip.AddrPort)
	m.reached = make(map[netip.AddrPort]struct{})
	m.retry.init()
	m.left.init()
	m.pool.init()
}

// beginClose moves an open node to closing, and reports whether it did:
// from then on nothing is admitted, dialled or redialled.
func (m *membership) beginClose() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() != nodeOpen {
		return false
	}
	m.state.set(nodeClosing)
	m.notifyLocked()
	return true
}

// goWhileOpen runs f on a goroutine of g, the node's, and reports whether
// it did: only while the node is open, so that a caller that is not itself
// one of g's cannot add one once Close is waiting for them all.
func (m *membership) goWhileOpen(g *group, f func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state.get() != nodeOpen {
		return false
	}
	g.Go(f)
	return true
}

// endClose moves a closing node to closed, once every goroutine of it has
// returned.
func (m *membership) endClose() {
	m.mu.Lock()
	m.state.set(nodeClosed)
	m.notifyLocked()
	m.mu.Unlock()
}

// watch returns the channel that the next change closes, and whether the
// node is closing already.
func (m *membership) watch() (changed <-chan struct{}, closing bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed, m.state.get() != nodeOpen
}

// meshed reports whether every peer list the node waits for has arrived and
// every dial they caused has ended (WaitMesh).
func (m *membership) meshed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unlisted == 0 && m.pool.lists == 0
}

// admission is what register decided about a connection.
type admission struct {
	code  wire.RejectCode // why it was refused, or 0
	old   *peer           // the connection it replaced, unregistered
	moved netip.AddrPort  // the address that the remote's name was redialled at, if another
}

// verdict returns why p cannot be admitted now, or 0: register decides.
func (m *membership) verdict(p *peer, acceptor bool, dead *peer) wire.RejectCode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.verdictLocked(p, acceptor, dead)
}

// register admits p if verdictLocked allows it: it starts p's link with
// its first frames and publishes p as the connection to its remote, so
// that whoever finds p queues behind them. A connection registered for p's
// address is replaced only if it is dead, the one confirmClaim found dead
// (confirm.go); another, registered meanwhile, refuses p.
func (m *membership) register(p *peer, acceptor bool, first []byte, dead *peer) admission {
	m.mu.Lock()
	defer m.mu.Unlock()
	if code := m.verdictLocked(p, acceptor, dead); code != 0 {
		return admission{code: code}
	}
	var a admission
	if old := m.remotes.get(p.key); old != nil && old != dead {
		return admission{code: wire.RejectDuplicate}
	}
	if a.old = m.remotes.get(p.key); a.old != nil {
		// The remote restarted (a new nonce), or lost this connection
		// (its redial), before we noticed.
		m.removeLocked(a.old)
	}
	p.mu.Lock()
	p.startLink(first)
	p.mu.Unlock()
	m.remotes.m.Store(p.key, p)
	m.nonces[string(p.nonce)] = p
	m.unretryLocked(p.key)
	a.moved = m.claimNameLocked(p)
	m.left.remove(p.key)
	if p.join {
		// Only a join connection sends a list (peerlist.go).
		m.joined.m.Store(p.key, p)
		m.unlisted++
	} else {
		p.listed = true
	}
	m.notifyLocked()
	m.ev.push(event{added: true, key: p.key})
	return a
}

// listed records that p's peer list has arrived, and all its addresses
// are queued.
func (m *membership) listed(p *peer) {
	m.mu.Lock()
	if m.remotes.get(p.key) == p && !p.listed {
		p.listed = true
		m.unlisted--
		m.notifyLocked()
	}
	m.mu.Unlock()
}

// tagged takes tags of version, newer than p's remote sent before, as its
// tags, and queues the event if p is registered.
func (m *membership) tagged(p *peer, version uint64, tags map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if version <= p.tags.Load().version {
		return // late: we have these or newer ones
	}
	p.tags.Store(&tagSet{version: version, m: tags})
	if m.remotes.get(p.key) == p {
		m.ev.push(event{tagged: true, key: p.key, tags: tags})
	}
}

// interruptHandshake cuts p's handshake short by a deadline in the past,
// unless p has been admitted: then Close says goodbye to it instead. The
// check and the deadline are atomic with admission; setting a deadline
// does not block.
func (m *membership) interruptHandshake(p *peer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !p.admitted.Load() {
		p.conn.SetDeadline(time.Unix(1, 0))
	}
}

// notifyLocked wakes every Wait and WaitMesh. m.mu must be held.
func (m *membership) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// removeLocked unregisters p if it is the registered connection for its
// remote, and reports whether it was. m.mu must be held.
func (m *membership) removeLocked(p *peer) bool {
	if m.remotes.get(p.key) != p {
		return false
	}
	m.remotes.m.Delete(p.key)
	m.joined.m.CompareAndDelete(p.key, p)
	delete(m.nonces, string(p.nonce))
	m.forgetNameLocked(p.name, p.key)
	if !p.listed {
		m.unlisted--
	}
	m.notifyLocked()
	m.ev.push(event{key: p.key})
	return true
}
