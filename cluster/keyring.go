package cluster

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/peerweave/peerweave/internal/wire"
)

// MinSecretSize is the shortest secret a node takes. A shared secret is
// guessed offline by whoever gets one proof made with it (see the package
// documentation): 32 random bytes put that out of reach.
const MinSecretSize = 32

// NewSecret returns MinSecretSize random bytes from crypto/rand: a secret
// for WithSecret. Share it as text with base64.StdEncoding, for instance in
// an environment variable, and decode it on each node.
func NewSecret() []byte {
	s := make([]byte, MinSecretSize)
	rand.Read(s)
	return s
}

// keyring is the proof keys of a node, derived from its secrets: one it
// proves itself with, and every one it admits a peer for knowing. It is
// never changed, only replaced whole, so that a handshake reads one
// consistent keyring.
type keyring struct {
	primary  []byte   // nil: the node has no secret
	accepted [][]byte // primary first, then the others
}

func newKeyring(primary []byte, accepted [][]byte) *keyring {
	k := &keyring{}
	if primary == nil {
		return k
	}
	k.primary = wire.ProofKey(primary)
	k.accepted = append(k.accepted, k.primary)
	for _, s := range accepted {
		k.accepted = append(k.accepted, wire.ProofKey(s))
	}
	return k
}

// checkSecrets refuses a keyring with a secret shorter than MinSecretSize,
// or with accepted secrets but no primary one.
func checkSecrets(primary []byte, accepted [][]byte) error {
	if primary == nil && len(accepted) == 0 {
		return nil
	}
	if len(primary) < MinSecretSize {
		return fmt.Errorf("%w: the primary secret has %d", ErrShortSecret, len(primary))
	}
	for i, s := range accepted {
		if len(s) < MinSecretSize {
			return fmt.Errorf("%w: accepted secret %d has %d", ErrShortSecret, i, len(s))
		}
	}
	return nil
}

// prove returns the proof of the primary secret for role, over a TLS
// session's exported keying material and the transcript.
func (k *keyring) prove(role string, exported, transcript []byte) []byte {
	return wire.Prove(k.primary, role, exported, transcript)
}

// verify reports whether proof is what wire.Prove returns for any accepted
// secret. It tries every one, each in constant time, so that the time it
// takes does not tell which one matched, or how far the list was searched.
func (k *keyring) verify(role string, exported, transcript, proof []byte) bool {
	ok := false
	for _, key := range k.accepted {
		if wire.Verify(key, role, exported, transcript, proof) {
			ok = true
		}
	}
	return ok
}

// WithSecrets is WithSecret with a keyring: the node proves itself with
// primary, and admits peers that prove they know primary or any of
// accepted. Node.SetSecrets changes the keyring of a running node, which is
// how a cluster moves to a new secret without a restart: see the package
// documentation. WithSecret(s) is WithSecrets(s), and the last of the two
// options given wins.
func WithSecrets(primary []byte, accepted ...[]byte) Option {
	return func(c *config) {
		c.secret = bytes.Clone(primary)
		c.accepted = make([][]byte, len(accepted))
		for i, s := range accepted {
			c.accepted[i] = bytes.Clone(s)
		}
	}
}

// SetSecrets replaces the node's keyring, as WithSecrets sets it: from now
// on the node proves itself with primary and admits peers that prove they
// know primary or any of accepted. It changes new handshakes only: the
// remotes already connected stay, whatever secret they proved. Rotating a
// cluster's secret takes three rounds of SetSecrets over all nodes; the
// package documentation has the steps.
//
// A node created without a secret cannot be given one, nor can a node with
// one be left without: a node that requires a secret and one that does not
// refuse each other, so that would split the cluster. SetSecrets refuses
// both, and a secret shorter than MinSecretSize (ErrShortSecret), with an
// error and changes nothing.
func (n *Node) SetSecrets(primary []byte, accepted ...[]byte) error {
	if err := checkSecrets(primary, accepted); err != nil {
		return err
	}
	had := n.keyring().primary != nil
	switch {
	case !had && primary != nil:
		return errors.New("cluster: set secrets: the node was created without a secret, so its peers have none")
	case had && primary == nil:
		return errors.New("cluster: set secrets: a node created with a secret keeps one")
	}
	n.keys.Store(newKeyring(primary, accepted))
	return nil
}

// keyring returns the node's current keyring.
func (n *Node) keyring() *keyring { return n.keys.Load() }
