package cluster

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// maxHandshakeFrame bounds frames before a connection is admitted: hellos,
// proofs and verdicts are small, and a stranger must not make the node set
// memory aside for more. A hello may be larger by the tags it carries
// (tagsFrameLimit), and its memory is taken as its bytes arrive.
const maxHandshakeFrame = 4 << 10

// eagerRead is how much of a frame body is allocated before its bytes
// arrive; past it, the buffer grows as they do, so that a peer must send
// what a header claims before the node holds memory for it.
const eagerRead = 64 << 10

// readConn reads from the connection. Once the handshake is done, every read
// pushes the deadline out: a remote that stays silent for longer than the
// healthy interval plus the network timeout has missed a health check.
func (p *peer) readConn(b []byte) (int, error) {
	if p.getState() != handshaking {
		p.conn.SetReadDeadline(time.Now().Add(p.n.silenceLimit()))
	}
	return p.conn.Read(b)
}

// limit is the largest body of a frame of kind k that p accepts: small until
// it is admitted, but for the tags a hello carries, and for tags frames
// whatever the message size.
func (p *peer) limit(k wire.Kind) int {
	if p.getState() == handshaking || k == wire.KindTags {
		return p.n.tagsFrameLimit()
	}
	return p.n.cfg.maxMessage
}

// readLoop handles frames until the connection ends, then tells the node.
// A reader that another took over from (handler.go) just returns.
func (p *peer) readLoop() {
	err := p.read()
	if err == errRelieved {
		return
	}
	defer p.exit()
	if err != errGoodbye {
		p.n.drop(p, err)
	}
	p.stopWriters()
}

// errGoodbye ends the reader after a goodbye either way.
var errGoodbye = errors.New("goodbye")

func (p *peer) read() error {
	for {
		k, size, err := p.readHeader()
		if err == io.EOF && p.getState() == gotBye {
			// The remote half-closed after its goodbye: our writer
			// finishes ours (see halfClose).
			return errGoodbye
		}
		if err != nil {
			return err
		}
		switch k {
		case wire.KindData, wire.KindFirst, wire.KindMore:
			if err := p.readData(k, size); err != nil {
				return err
			}
		case wire.KindWindow:
			if err := p.readWindow(size); err != nil {
				return err
			}
		case wire.KindRequest, wire.KindReply:
			if err := p.readTag(k, size); err != nil {
				return err
			}
		case wire.KindCancel:
			if err := p.readCancel(size); err != nil {
				return err
			}
		case wire.KindPing:
			p.probe(wire.KindPong)
		case wire.KindPong:
			// The read itself pushed the silence deadline out.
			p.pong()
			p.checkStall() // stall.go
		case wire.KindPeers:
			var m wire.Peers
			if err := p.readControl(size, &m); err != nil {
				return err
			}
			if err := p.n.learn(p, m.Addrs); err != nil {
				return protocolError{fmt.Errorf("peer list: %w", err)}
			}
			p.n.emit(Event{Kind: EventPeerList, Addr: p.key, Count: len(m.Addrs)})
		case wire.KindTags:
			if err := p.readTags(size); err != nil {
				return err
			}
		case wire.KindBye:
			if p.n.farewell(p) {
				return errGoodbye
			}
			// Read on: the remote grants room for what is still queued
			// for it, and hangs up once it has our acknowledgement.
		case wire.KindByeAck:
			if p.getState() != saidBye {
				return protocolError{errors.New("acknowledgement of a goodbye never said")}
			}
			close(p.acked)
			return errGoodbye
		default:
			if p.extended(k) {
				if err := p.readExtension(size); err != nil {
					return err
				}
				continue
			}
			return protocolError{fmt.Errorf("unexpected %s frame", k)}
		}
	}
}

// protocolError marks input that breaks the protocol, as opposed to a
// connection that broke.
type protocolError struct{ err error }

func (e protocolError) Error() string { return e.err.Error() }
func (e protocolError) Unwrap() error { return e.err }

// readHeader reads the next frame header.
func (p *peer) readHeader() (wire.Kind, int, error) {
	h, err := p.br.Peek(wire.HeaderSize)
	if err != nil {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	k, size, err := wire.ParseHeaderUpTo(h, p.limit(wire.Kind(h[4])), p.lastKind())
	if err != nil {
		return 0, 0, protocolError{err}
	}
	p.br.Discard(wire.HeaderSize)
	return k, size, nil
}

// eager is how much of a frame body readBody allocates before its bytes
// arrive: little for a stranger in its handshake.
func (p *peer) eager() int {
	if p.getState() == handshaking {
		return maxHandshakeFrame
	}
	return eagerRead
}

// readBody appends the next n bytes to buf, growing it, past eagerRead, as
// the bytes arrive.
func (p *peer) readBody(buf []byte, n int) ([]byte, error) {
	end := len(buf) + n
	for len(buf) < end {
		k := min(end-len(buf), max(len(buf), p.eager()))
		buf = slices.Grow(buf, k)
		m, err := io.ReadFull(p.br, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, truncated(err)
		}
	}
	return buf, nil
}

// readControl reads a control frame's body and decodes it into v.
func (p *peer) readControl(size int, v any) error {
	b, err := p.readBody(p.scratch[:0], size)
	p.scratch = b
	if err != nil {
		return err
	}
	if err := p.dec.Decode(b, v); err != nil {
		return protocolError{fmt.Errorf("decode: %w", err)}
	}
	if cap(p.scratch) > maxSpare {
		p.scratch = nil
	}
	return nil
}

func truncated(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// peekBody returns the body of a frame of kind k and size bytes, a fixed-size body of
// want bytes, from the read buffer; the caller discards it once parsed. A
// body of any other size breaks the protocol before a byte of it is read.
func (p *peer) peekBody(k wire.Kind, size, want int) ([]byte, error) {
	if size != want {
		return nil, protocolError{fmt.Errorf("%s frame of %d bytes", k, size)}
	}
	b, err := p.br.Peek(size)
	if err != nil {
		return nil, truncated(err)
	}
	return b, nil
}
