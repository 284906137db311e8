package cluster

import (
	"fmt"

	"github.com/peerweave/peerweave/internal/wire"
)

// speaks returns the preamble the node opens its connections with: the
// range of protocol versions it speaks, and its codec.
func (c *config) speaks() wire.Preamble {
	return wire.Preamble{Version: c.maxVersion, MinVersion: c.minVersion, Codec: c.codec.Name()}
}

// negotiate checks the other side's preamble against ours and sets the
// version the connection speaks: the highest both sides speak.
func (p *peer) negotiate(theirs wire.Preamble) error {
	ours := p.n.cfg.speaks()
	v, ok := ours.Common(theirs)
	if ok && theirs.Codec == ours.Codec {
		p.version = v
		return nil
	}
	why := "another codec"
	if !ok {
		why = "no protocol version in common"
	}
	return protocolError{fmt.Errorf("%w: peer speaks %s with codec %q, this node %s with codec %q: %s",
		ErrIncompatible, protocols(theirs), theirs.Codec, protocols(ours), ours.Codec, why)}
}

// protocols says which versions a preamble speaks, for logs.
func protocols(p wire.Preamble) string {
	if p.MinVersion == p.Version {
		return fmt.Sprintf("protocol %d", p.Version)
	}
	return fmt.Sprintf("protocols %d to %d", p.MinVersion, p.Version)
}

// extension is what a later release adds to the protocol: frames of one
// kind past wire.KindLast, which connections of a version past wire.Version
// carry. Only tests make nodes with one (export_test.go), to show that
// releases interoperate; it is the seam where a later release's frames go.
type extension struct {
	version uint8     // the version that added kind
	kind    wire.Kind // the frame kind it added
	// got is called, on the connection's reader, with the body of every
	// frame of kind from a remote.
	got func(from Remote, body []byte)
}

// lastKind is the highest frame kind p's connection may carry: frames of a
// version the connection does not speak break the protocol.
func (p *peer) lastKind() wire.Kind {
	if x := p.n.cfg.extension; x != nil && p.version >= x.version {
		return max(x.kind, wire.KindLast)
	}
	return wire.KindLast
}

// extended reports whether a frame of kind k is the extension's, on a
// connection that speaks it.
func (p *peer) extended(k wire.Kind) bool {
	x := p.n.cfg.extension
	return x != nil && k == x.kind && p.version >= x.version
}

// readExtension hands the body of a frame of the extension's kind to it.
func (p *peer) readExtension(body []byte) {
	p.n.cfg.extension.got(remoteOf(p.key), body)
}
