package cluster

import (
	"bytes"
	"net"

	"github.com/peerweave/peerweave/internal/wire"
)

// admit decides whether the connection p becomes the node's connection to the
// remote it introduced, and registers it if so. The acceptor of a connection
// decides; the dialler registers once welcomed.
//
// A registered connection's first frames are the acceptor's Welcome, our
// tags and the window we grant: its link is built with them before it is
// published (firstFrames, register), so whoever finds it queues behind them.
// Then comes the peer list of a join connection (peerlist.go), gathered
// outside every lock, and before any other peer list (sendPeerList).
func (n *Node) admit(p *peer, acceptor bool) wire.RejectCode {
	dead, code := n.confirmClaim(p) // confirm.go
	if code != 0 {
		return code
	}
	if code := n.verdict(p, acceptor, dead); code != 0 {
		return code // before the work below
	}
	first := p.firstFrames(acceptor)
	if p.join {
		n.fwd.hold(p)
	}
	a := n.register(p, acceptor, first, dead)
	if a.code != 0 {
		n.fwd.release(p)
		return a.code
	}
	old := a.old
	if old != nil {
		old.endConversations(ErrRemoteLost)
		n.wg.Go(old.shutdown)
	}
	var listErr error
	if p.join {
		listErr = n.sendPeerList(p)
	}
	p.queueTags() // tags set since firstFrames
	if !p.join {
		n.forward(p)
	}
	if old != nil {
		n.emit(Event{Kind: EventRemoved, Addr: old.key, Err: ErrReplaced})
	}
	n.added(p, !acceptor)
	if a.moved.IsValid() {
		n.emit(Event{Kind: EventMoved, Addr: p.key, From: net.TCPAddrFromAddrPort(a.moved), Name: p.name})
	}
	if listErr != nil {
		n.emit(Event{Kind: EventPeerList, Addr: p.key, Err: listErr})
	}
	n.learnSelf(p)
	if !acceptor {
		n.wg.Go(p.readLoop)
	}
	p.signal()
	return 0
}

// verdictLocked returns why p cannot be admitted, or 0 if it can. Of two
// connections that two nodes dial to each other at once, a join connection
// wins over a list connection (so that the remote that asked for the whole
// list gets it), and of two alike the one dialled by the node with the lower
// nonce, on both sides. dead is the registered connection that p may
// replace, found dead (confirmClaim). m.mu must be held.
func (m *membership) verdictLocked(p *peer, acceptor bool, dead *peer) wire.RejectCode {
	if m.state.get() != nodeOpen {
		return wire.RejectClosing
	}
	if bytes.Equal(p.nonce, m.nonce) {
		// Recorded nowhere: anyone can send our nonce. The dialler
		// learns self from this refusal (selfFound).
		return wire.RejectSelf
	}
	if q := m.nonces[string(p.nonce)]; q != nil && q != dead {
		return wire.RejectDuplicate
	}
	if d := m.dialing[p.key]; acceptor && d != nil && wins(d.join, p.join, m.nonce, p.nonce) {
		return wire.RejectDuplicate
	}
	if acceptor && m.goneLocked(p) {
		return wire.RejectGone
	}
	return m.nameVerdictLocked(p)
}

// wins reports whether our dial, a join dial if ours is set, wins over the
// remote's dial to us, a join dial if theirs is set. Both ends decide alike.
func wins(ours, theirs bool, our, their []byte) bool {
	if ours != theirs {
		return ours
	}
	return bytes.Compare(our, their) < 0
}
