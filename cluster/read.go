package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/peerweave/peerweave/internal/link"
	"github.com/peerweave/peerweave/internal/wire"
)

// maxHandshakeFrame bounds frames before a connection is admitted: hellos,
// proofs and verdicts are small, and a stranger must not make the node set
// memory aside for more. A hello may be larger by the tags it carries
// (tagsFrameLimit), and its memory is taken as its bytes arrive.
const maxHandshakeFrame = 4 << 10

// A peer is its link's handler (link.Handler): the link reads and writes
// frames, and hands up here what only the node can act on. The methods run
// on the link's reader (or, for write failures and expiry, its writer),
// holding none of its locks.

// readLoop reads p's connection, once admitted, until it ends (link.ReadLoop).
func (p *peer) readLoop() { p.link.ReadLoop() }

// Control takes a control frame that the link hands up: a peer list, tags,
// or a frame of the extension's kind.
func (p *peer) Control(k wire.Kind, body []byte) error {
	switch {
	case k == wire.KindPeers:
		var m wire.Peers
		if err := p.decode(body, &m); err != nil {
			return err
		}
		if err := p.n.learn(p, m.Addrs); err != nil {
			return protocolError{fmt.Errorf("peer list: %w", err)}
		}
		return nil
	case k == wire.KindTags:
		return p.readTags(body)
	case p.extended(k):
		p.readExtension(bytes.Clone(body))
		return nil
	}
	return protocolError{fmt.Errorf("unexpected %s frame", k)}
}

// Pong tells of the round trip of a health check, which may find p
// stalled (stall.go).
func (p *peer) Pong(rtt time.Duration) {
	p.n.emit(Event{Kind: EventPong, Addr: p.key, RTT: rtt})
	p.checkStall()
}

// Opened follows a Window frame, which may resume p (stall.go).
func (p *peer) Opened() { p.windowGrew() }

// Goodbye removes p's remote, which said goodbye; the link answers it.
func (p *peer) Goodbye() { p.n.farewell(p) }

// Closed drops p, whose connection ended without a goodbye.
func (p *peer) Closed(err error) { p.n.drop(p, fromLink(err)) }

// Exited tells the statistics that p's counts are final, and frees the
// room of the payload it was reading, if any (assembly.go).
func (p *peer) Exited() {
	p.exit()
	p.endAssembly()
}

// protocolError marks input that breaks the protocol, as opposed to a
// connection that broke.
type protocolError struct{ err error }

func (e protocolError) Error() string { return e.err.Error() }
func (e protocolError) Unwrap() error { return e.err }

// fromLink makes a protocol error that the link found one of the node's.
func fromLink(err error) error {
	if pe, ok := errors.AsType[link.ProtocolError](err); ok {
		return protocolError{pe.Err}
	}
	return err
}

// decode decodes a control frame's body into v.
func (p *peer) decode(b []byte, v any) error {
	if err := p.dec.Decode(b, v); err != nil {
		return protocolError{fmt.Errorf("decode: %w", err)}
	}
	return nil
}

// readHeader reads the next frame header of the handshake.
func (p *peer) readHeader() (wire.Kind, int, error) {
	limit := p.n.tagsFrameLimit()
	k, size, err := p.br.ReadHeader(limit, limit, p.lastKind())
	return k, size, fromLink(err)
}

// readControl reads a handshake frame's body and decodes it into v. Its
// memory is taken as its bytes arrive.
func (p *peer) readControl(size int, v any) error {
	b, err := p.br.ReadBody(nil, size, maxHandshakeFrame)
	if err != nil {
		return err
	}
	return p.decode(b, v)
}

func truncated(err error) error { return link.Truncated(err) }
