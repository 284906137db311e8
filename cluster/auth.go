package cluster

import (
	"fmt"

	"github.com/peerweave/peerweave/internal/wire"
)

// Nodes with a secret prove it to each other inside TLS (see secure.go),
// before either sends a hello: the dialler first, then the acceptor, only
// once the dialler's proof holds. Each proof binds the secret to the TLS
// session (its exported keying material), to the role of its maker, and to
// the preambles that went before it. So a stranger that dials a member
// learns nothing but the member's preamble and that it was refused, a
// stranger that a member dials gets one proof to guess the secret against
// offline, and nobody can use a proof on another connection or hand it back
// as the other side's.
//
// The hellos follow on the same TLS session, which only the two ends that
// proved can read or write, so the proofs need not cover them: covering
// them would mean sending them first, to whoever asks.

// transcript returns what the acceptor's proof covers: both preambles, the
// dialler's first. The dialler's covers its own alone, since it proves
// before it has read the acceptor's.
func transcript(dialler, acceptor []byte) []byte {
	return append(append([]byte(nil), dialler...), acceptor...)
}

// proveToAcceptor runs the dialler's half of authentication: it writes the
// preamble queued and a proof of our primary secret, reads the acceptor's
// preamble and its proof or verdict, and checks the proof against every
// secret we accept. It returns the acceptor's Reject if it refused our proof.
func (p *peer) proveToAcceptor() (wire.Reject, error) {
	keys := p.n.keyring()
	ekm, err := exported(p.conn)
	if err != nil {
		return wire.Reject{}, err
	}
	ours := p.n.preamble
	if err := p.appendControl(wire.KindAuth, &wire.Auth{Proof: keys.prove(wire.RoleDialler, ekm, ours)}); err != nil {
		return wire.Reject{}, err
	}
	if err := p.flushHandshake(); err != nil {
		return wire.Reject{}, err
	}
	pre, err := p.readPreamble()
	if err != nil {
		return wire.Reject{}, err
	}
	k, size, err := p.readHeader()
	if err != nil {
		return wire.Reject{}, truncated(err)
	}
	switch k {
	case wire.KindReject:
		return p.readReject(size)
	case wire.KindAuth:
	default:
		return wire.Reject{}, protocolError{fmt.Errorf("%s frame where auth was due", k)}
	}
	var a wire.Auth
	if err := p.readControl(size, &a); err != nil {
		return wire.Reject{}, err
	}
	if !keys.verify(wire.RoleAcceptor, ekm, transcript(ours, pre.Append(nil)), a.Proof) {
		return wire.Reject{}, fmt.Errorf("%w: the peer did not prove it knows the shared secret", ErrAuth)
	}
	return wire.Reject{}, nil
}

// checkDialler runs the acceptor's half of authentication, after the
// dialler's preamble (pre) and with ours queued: it reads the dialler's
// proof and checks it against every secret we accept, then queues and
// writes our proof with our primary secret. It returns RejectAuth, and
// proves nothing, for a dialler that cannot prove it knows a secret of ours.
func (p *peer) checkDialler(pre wire.Preamble) (wire.RejectCode, error) {
	keys := p.n.keyring()
	ekm, err := exported(p.conn)
	if err != nil {
		return 0, err
	}
	var a wire.Auth
	if err := p.readExpected(wire.KindAuth, &a); err != nil {
		return 0, truncated(err)
	}
	theirs := pre.Append(nil)
	if !keys.verify(wire.RoleDialler, ekm, theirs, a.Proof) {
		return wire.RejectAuth, nil
	}
	proof := keys.prove(wire.RoleAcceptor, ekm, transcript(theirs, p.n.preamble))
	if err := p.appendControl(wire.KindAuth, &wire.Auth{Proof: proof}); err != nil {
		return 0, err
	}
	return 0, p.flushHandshake()
}
