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
// each side's peer list (peerlist.go) and the window it grants, queued
// before anything else can be: p.mu is taken before p is published and
// released once they are queued.
func (n *Node) admit(p *peer, acceptor bool) wire.RejectCode {
	dead, code := n.confirmClaim(p) // confirm.go
	if code != 0 {
		return code
	}
	n.mu.Lock()
	if code := n.verdictLocked(p, acceptor); code != 0 {
		n.mu.Unlock()
		return code
	}
	old := n.remotes.get(p.key)
	if old != nil && old != dead {
		// Registered while confirmClaim looked: not found dead.
		n.mu.Unlock()
		return wire.RejectDuplicate
	}
	if old != nil {
		// Same address, new nonce: the remote restarted before we noticed.
		n.removeLocked(old)
		n.wg.Go(old.shutdown)
	}
	p.mu.Lock()
	p.setState(live)
	n.remotes.m.Store(p.key, p)
	n.nonces[string(p.nonce)] = p
	n.unretryLocked(p.key)
	moved := n.claimNameLocked(p)
	delete(n.left, p.key)
	if p.join {
		// Only a join connection sends a list (peerlist.go).
		n.joined.m.Store(p.key, p)
		n.unlisted++
	} else {
		p.listed = true
	}
	n.notifyLocked()
	n.events.push(event{added: true, key: p.key})
	n.mu.Unlock()

	if acceptor {
		p.appendControl(wire.KindWelcome, nil)
	}
	listErr := n.queuePeerList(p)
	p.queueTagsLocked()
	p.credit = wire.InitialWindow
	p.in.credit.Store(int64(n.cfg.window))
	if n.cfg.window > wire.InitialWindow {
		p.appendRaw(wire.KindWindow, windowBody(n.cfg.window-wire.InitialWindow))
	}
	p.mu.Unlock()
	if !p.join {
		n.forward(p)
	}
	if old != nil {
		n.emit(Event{Kind: EventRemoved, Addr: old.key, Err: ErrReplaced})
	}
	n.added(p, !acceptor)
	if moved.IsValid() {
		n.emit(Event{Kind: EventMoved, Addr: p.key, From: net.TCPAddrFromAddrPort(moved), Name: p.name})
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
// nonce, on both sides. n.mu must be held.
func (n *Node) verdictLocked(p *peer, acceptor bool) wire.RejectCode {
	if n.ctx.Err() != nil {
		return wire.RejectClosing
	}
	if bytes.Equal(p.nonce, n.nonce) {
		// Recorded nowhere: anyone can send our nonce. The dialler
		// learns self from this refusal (selfFound).
		return wire.RejectSelf
	}
	if n.nonces[string(p.nonce)] != nil {
		return wire.RejectDuplicate
	}
	if d := n.dialing[p.key]; acceptor && d != nil && wins(d.join, p.join, n.nonce, p.nonce) {
		return wire.RejectDuplicate
	}
	if acceptor && n.goneLocked(p) {
		return wire.RejectGone
	}
	return n.nameVerdictLocked(p)
}

// wins reports whether our dial, a join dial if ours is set, wins over the
// remote's dial to us, a join dial if theirs is set. Both ends decide alike.
func wins(ours, theirs bool, our, their []byte) bool {
	if ours != theirs {
		return ours
	}
	return bytes.Compare(our, their) < 0
}
