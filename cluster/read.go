package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// maxHandshakeFrame bounds frames before a connection is admitted: hellos,
// proofs and verdicts are small, and a stranger must not make the node set
// memory aside for more.
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

// limit is the largest frame body p accepts: small until it is admitted.
func (p *peer) limit() int {
	if p.getState() == handshaking {
		return maxHandshakeFrame
	}
	return p.n.cfg.maxMessage
}

// readLoop handles frames until the connection ends, then tells the node.
func (p *peer) readLoop() {
	if err := p.read(); err != errGoodbye {
		p.n.drop(p, err)
	}
}

// errGoodbye ends the reader after a goodbye either way.
var errGoodbye = errors.New("goodbye")

func (p *peer) read() error {
	for {
		k, size, err := p.readHeader()
		if err != nil {
			return err
		}
		switch k {
		case wire.KindData:
			if err := p.deliver(size); err != nil {
				return err
			}
		case wire.KindPing:
			p.probe(wire.KindPong)
		case wire.KindPong:
			// The read itself pushed the silence deadline out.
		case wire.KindPeers:
			var m wire.Peers
			if err := p.readControl(size, &m); err != nil {
				return err
			}
			if err := p.n.learn(p, m.Addrs); err != nil {
				return protocolError{fmt.Errorf("peer list: %w", err)}
			}
		case wire.KindBye:
			p.n.farewell(p)
			return errGoodbye
		case wire.KindByeAck:
			if p.getState() != saidBye {
				return protocolError{errors.New("acknowledgement of a goodbye never said")}
			}
			close(p.acked)
			return errGoodbye
		default:
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
	k, size, err := wire.ParseHeader(h, p.limit())
	if err != nil {
		return 0, 0, protocolError{err}
	}
	p.br.Discard(wire.HeaderSize)
	return k, size, nil
}

// readBody reads a frame body of size bytes into buf, reusing its capacity
// and growing it, past eagerRead, as the bytes arrive.
func (p *peer) readBody(buf []byte, size int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < size {
		n := min(size-len(buf), max(len(buf), eagerRead))
		buf = slices.Grow(buf, n)
		m, err := io.ReadFull(p.br, buf[len(buf):len(buf)+n])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, truncated(err)
		}
	}
	return buf, nil
}

// readPayload reads a payload of size bytes into a new slice. One that fits
// in the read buffer is copied out of it by append, which, unlike make, does
// not zero the memory it is about to fill.
func (p *peer) readPayload(size int) ([]byte, error) {
	if size > maxReadBuffer {
		return p.readBody(nil, size)
	}
	b, err := p.br.Peek(size)
	if err != nil {
		return nil, truncated(err)
	}
	payload := append([]byte(nil), b...)
	p.br.Discard(size)
	return payload, nil
}

// readControl reads a control frame's body and decodes it into v.
func (p *peer) readControl(size int, v any) error {
	b, err := p.readBody(p.scratch, size)
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

// deliver reads a payload of size bytes and puts it on the Inbox. While the
// node closes, payloads are read and dropped, so that the goodbye behind them
// is still seen.
func (p *peer) deliver(size int) error {
	payload, err := p.readPayload(size)
	if err != nil {
		return err
	}
	m := p.newMessage(payload)
	select {
	case p.n.Inbox <- m:
		return nil
	default:
	}
	select {
	case p.n.Inbox <- m:
	case <-p.n.ctx.Done():
	case <-p.done:
	}
	return nil
}

// message is a Message with room for its sender's IP, so that each
// delivered Message is one allocation that aliases nothing the node keeps
// or any other Message: the application may keep or change it freely.
type message struct {
	Message
	ip [16]byte
}

// newMessage returns a Message from p's remote carrying payload.
func (p *peer) newMessage(payload []byte) *Message {
	a := p.key.Addr()
	m := &message{ip: a.As16()}
	ip := net.IP(m.ip[:])
	if a.Is4() {
		ip = ip[12:]
	}
	m.Message = Message{From: Remote{IP: ip, Port: int(p.key.Port()), Zone: a.Zone()}, Payload: payload}
	return &m.Message
}
