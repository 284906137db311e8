package cluster

import "github.com/peerweave/peerweave/internal/wire"

// The knobs with which upgrade_test.go makes nodes of other releases than
// this one.

// LaterVersion is the protocol version that a node of the next release
// speaks besides this release's, and kindLater the frame kind it adds,
// which package wire reserves for this.
const (
	LaterVersion           = wire.Version + 1
	kindLater    wire.Kind = 18
)

// WithProtocolVersions makes the node speak only the protocol versions min
// to max, as a node of another release does.
func WithProtocolVersions(min, max uint8) Option {
	return func(c *config) { c.minVersion, c.maxVersion = min, max }
}

// WithLaterRelease makes the node one of the next release: it speaks this
// release's versions and LaterVersion, and on connections of LaterVersion
// frames of kind 18, whose bodies it hands to got.
func WithLaterRelease(got func(from Remote, body []byte)) Option {
	return func(c *config) {
		c.maxVersion = LaterVersion
		c.extension = &extension{version: LaterVersion, kind: kindLater, got: got}
	}
}

// ProtocolVersion returns the version that n's connection to r speaks, 0 if
// r is not a remote of n.
func ProtocolVersion(n *Node, r Remote) uint8 {
	if p := n.remotes.get(r.key()); p != nil {
		return p.version
	}
	return 0
}

// SendLater queues a frame of the next release's kind for r, as a node of
// that release does, only where the connection speaks its version, and
// reports whether it did. With force it sends it on any connection, as a
// node that breaks the protocol would.
func SendLater(n *Node, r Remote, body []byte, force bool) bool {
	p := n.remotes.get(r.key())
	if p == nil || !force && !p.extended(kindLater) {
		return false
	}
	p.control(kindLater, body)
	return true
}

// MaxTagsFrames is how many tags frames a remote may send in a healthy
// interval.
const MaxTagsFrames = maxTagsFrames
