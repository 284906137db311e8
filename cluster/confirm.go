package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// What the node confirms before it acts on an identity claim. A hello names
// an address, a nonce and a name, and nothing in it is proof: anyone can
// send any of them, and a node sends its own nonce to whoever connects. So
// the node acts on a claim only once it has confirmed it:
//
//   - Self: an address is the node's own only when the node's own dial of
//     it met the node's own nonce (selfFound). A connection that comes in
//     with the node's nonce is refused and recorded nowhere.
//   - Replacing a remote: a connection that claims a registered remote's
//     address with another nonce (a restarted node, or an impostor)
//     replaces it only once the registered connection is found dead: it is
//     pinged, and a live one answers within claimWait, as a restarted
//     process's old connection cannot (it fails at once or stays silent).
//     The claimant waits for the verdict meanwhile, and is refused with
//     RejectDuplicate if the old connection answers (confirmClaim). So is
//     a redial with the registered remote's own nonce: the remote lost the
//     connection before this node noticed, and its redial replaces it once
//     it is found dead; another connection with that nonce is a duplicate.
//   - Moving a name: a connection that claims the name of a remote being
//     redialled at another address takes the name, and ends that redial,
//     only if a dial of that address now fails to reach the name's holder
//     there within claimWait; if the holder answers, the claimant is
//     refused with RejectName (holds).
//   - Left: a goodbye comes on a registered connection, whose address
//     claim was either uncontested or confirmed as above, so a stranger
//     cannot say it for a live remote. It files the address as left by the
//     claimant's nonce: the node no longer dials it (the spec: a node told
//     goodbye never dials the leaver again), and refuses the redials and
//     list dials of that instance only, so that the real node, if the
//     claimant was not it, can still dial in. A RejectGone to the node's
//     own dial of k files k, not the address the refuser claimed
//     (refusedAsGone).
//
// Without per-node keys, a name or address that nobody else holds at the
// moment is still only a claim: see the Security part of the package doc.

// claimWait is how long the node checks a claim before it answers the
// claimant: half the network timeout, so that the claimant's handshake,
// which has the whole of it, gets its verdict in time.
func (n *Node) claimWait() time.Duration { return n.networkTimeout() / 2 }

// confirmClaim checks what p, whose hello the node has just read, claims
// beyond what is free for the taking: a registered remote's address, or the
// name of a remote redialled elsewhere. It returns the registered remote it
// found dead, which p may replace, and a refusal if p may not be admitted.
// It holds no lock while it waits, which is at most claimWait.
func (n *Node) confirmClaim(p *peer) (dead *peer, code wire.RejectCode) {
	old := n.remotes.get(p.key)
	if old != nil && bytes.Equal(old.nonce, p.nonce) && !p.redial {
		old = nil // a duplicate: the verdict refuses it
	}
	holder, named := n.nameRedialledElsewhere(p)
	if old == nil && !named {
		return nil, 0
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.claimWait())
	defer cancel()
	if old != nil {
		if n.answers(ctx, old) {
			n.log.Warn("refusing a connection that claims a live remote's address", "remote", p.key.String(),
				"from", p.conn.RemoteAddr().String())
			return nil, wire.RejectDuplicate
		}
		dead = old
	}
	if named && n.holds(ctx, holder, p.name) {
		n.log.Warn("refusing a connection that claims the name of a remote that answers at its address",
			"name", p.name, "remote", p.key.String(), "holder", holder.String())
		return nil, wire.RejectName
	}
	return dead, 0
}

// answers pings p and reports whether it answered before ctx ended. Any
// pong counts, a late answer to an earlier health check too: the remote
// is there.
func (n *Node) answers(ctx context.Context, p *peer) bool {
	answered := p.link.Answered()
	p.ping()
	select {
	case <-answered:
		return true
	case <-p.link.Done():
		return false
	case <-ctx.Done():
		return false
	}
}

// holds dials k, where the holder of name was last seen, and reports
// whether the holder answers there by the end of ctx: it is admitted, or
// refuses the dial as a duplicate, being connected still over a
// connection that this node lost and it has not noticed. A dial takes a token
// of the dial pool's bucket (one under way is joined instead); if it cannot
// start in time the holder keeps the name for now, as the claim stays
// unconfirmed.
func (n *Node) holds(ctx context.Context, k netip.AddrPort, name string) bool {
	wait := n.reserveUnlessDialling(k)
	if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
		return true
	}
	if n.pace(wait) != nil {
		return true
	}
	err := n.join(ctx, k, byCheck)
	if a, ok := errors.AsType[answeredAs](err); ok && a.name == name {
		return true // the holder is connected to us still, over a connection we lost
	}
	if q := n.remotes.get(k); q == nil || q.name != name {
		n.log.Debug("a name's old address did not answer: the name moves", "name", name, "remote", k.String(), "err", err)
		return false
	}
	return true
}

// selfFound handles the RejectSelf of the node dialled at k: if its hello
// had this node's nonce, k reaches this node. Only k is filed, not the
// address the hello claimed: the node's own addresses are known already
// (ownAddr), and another is a claim. A refusal as self with another nonce
// is a lie, and an error.
func (n *Node) selfFound(k netip.AddrPort, p *peer) error {
	if !bytes.Equal(p.nonce, n.nonce) {
		return fmt.Errorf("%w: refused as this node by a peer with another nonce", ErrRejected)
	}
	n.markSelf(k)
	return nil
}
