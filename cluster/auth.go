package cluster

import (
	"crypto/rand"
	"fmt"

	"github.com/peerweave/peerweave/internal/wire"
)

// challengeSize is the size of a handshake challenge, in bytes.
const challengeSize = 32

// challenge returns a fresh random challenge, or nil without a secret.
func (n *Node) challenge() []byte {
	if n.keyring().primary == nil {
		return nil
	}
	c := make([]byte, challengeSize)
	rand.Read(c)
	return c
}

// proveToAcceptor checks the acceptor's proof in its hello against every
// secret we accept and answers its challenge with our primary one: the
// dialler's half of authentication. Without a secret it only checks that the
// acceptor does not require one.
func (p *peer) proveToAcceptor(ours, theirs *wire.Hello) error {
	keys := p.n.keyring()
	if keys.primary == nil {
		if len(theirs.Challenge) > 0 {
			return fmt.Errorf("%w: the peer requires a shared secret", ErrAuth)
		}
		return nil
	}
	var proof []byte
	verified := len(theirs.Challenge) > 0 && keys.verify(wire.RoleAcceptor, ours.Challenge, theirs.Challenge, theirs.Proof)
	if verified {
		proof = wire.Prove(keys.primary, wire.RoleDialler, ours.Challenge, theirs.Challenge)
	}
	// Without a proof of ours, the acceptor learns it failed, and nothing else.
	err := p.appendControl(wire.KindAuth, &wire.Auth{Proof: proof})
	if err == nil {
		err = p.flushHandshake()
	}
	if !verified {
		return fmt.Errorf("%w: the peer did not prove it knows the shared secret", ErrAuth)
	}
	return err
}

// checkDialler queues the acceptor's hello and, with a secret, proves it
// with our primary secret and checks the dialler's answer against every
// secret we accept. It returns RejectAuth for a dialler that cannot prove it
// knows one.
func (p *peer) checkDialler(ours, theirs *wire.Hello) (wire.RejectCode, error) {
	keys := p.n.keyring()
	secret := keys.primary
	if secret == nil || len(theirs.Challenge) == 0 {
		// Without a secret on both sides there is nothing to prove, unless
		// one side requires it.
		code := wire.RejectCode(0)
		if (secret == nil) != (len(theirs.Challenge) == 0) {
			code = wire.RejectAuth
		}
		return code, p.appendControl(wire.KindHello, ours)
	}
	ours.Proof = wire.Prove(secret, wire.RoleAcceptor, theirs.Challenge, ours.Challenge)
	if err := p.appendControl(wire.KindHello, ours); err != nil {
		return 0, err
	}
	if err := p.flushHandshake(); err != nil {
		return 0, err
	}
	var a wire.Auth
	if err := p.readExpected(wire.KindAuth, &a); err != nil {
		return 0, truncated(err)
	}
	if !keys.verify(wire.RoleDialler, theirs.Challenge, ours.Challenge, a.Proof) {
		return wire.RejectAuth, nil
	}
	return 0, nil
}
