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
// A registered connection's first frames are the acceptor's Welcome, then
// each side's tags and the window it grants, queued before anything else
// can be: register takes p.mu before p is published, and admit releases it
// once they are queued. Then comes the peer list of a join connection
// (peerlist.go), made and encoded outside every lock, and before any other
// peer list (sendPeerList).
func (n *Node) admit(p *peer, acceptor bool) wire.RejectCode {
	if code := n.verdict(p, acceptor); code != 0 {
		return code // before the work below
	}
	// p is not published yet: its sentTags, from our hello, is ours.
	tagsVersion, tags := n.tagsAfter(p, p.sentTags)
	if p.join {
		n.fwd.hold(p)
	}
	a := n.register(p, acceptor)
	if a.code != 0 {
		n.fwd.release(p)
		return a.code
	}
	old := a.old
	if old != nil {
		old.endConversations(ErrRemoteLost)
		n.wg.Go(old.shutdown)
	}

	if acceptor {
		p.appendRaw(wire.KindWelcome, nil)
	}
	if tags != nil && tagsVersion > p.sentTags {
		p.appendRaw(wire.KindTags, tags)
		p.sentTags = tagsVersion
	}
	p.credit = wire.InitialWindow
	p.in.credit.Store(int64(n.cfg.window))
	if n.cfg.window > wire.InitialWindow {
		p.appendRaw(wire.KindWindow, windowBody(n.cfg.window-wire.InitialWindow))
	}
	p.mu.Unlock()
	var listErr error
	if p.join {
		listErr = n.sendPeerList(p)
	}
	n.queueTags(p) // tags set since they were encoded
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
// nonce, on both sides. m.mu must be held.
func (m *membership) verdictLocked(p *peer, acceptor bool) wire.RejectCode {
	if m.state.get() != nodeOpen {
		return wire.RejectClosing
	}
	if bytes.Equal(p.nonce, m.nonce) {
		m.selves[p.key] = struct{}{}
		return wire.RejectSelf
	}
	if m.nonces[string(p.nonce)] != nil {
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
