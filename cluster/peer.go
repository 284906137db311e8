package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
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

// maxSpare is the largest write buffer a peer keeps between writes.
const maxSpare = 4 << 20

// msgSlab is how many Messages a reader allocates at once.
const msgSlab = 64

// peer is one connection to a remote: its handshake state, a reader goroutine
// that decodes frames, and a writer goroutine that drains the send queue.
//
// Senders append whole frames to queue under mu; the writer swaps the queue
// for its spare buffer and writes it with one call, so frames queued while a
// write is in progress go out together in the next one.
type peer struct {
	n    *Node
	conn net.Conn
	br   *readBuffer
	enc  Encoder // appends to queue; used under mu
	dec  Decoder // used by the reader only

	// Set by the handshake, then immutable.
	key    netip.AddrPort
	remote Remote
	nonce  []byte
	join   bool // the dialler joined on its own behalf
	// helloSent is set once a dialler has written its whole hello, which
	// the acceptor may take: from then on, giving up means a goodbye.
	helloSent bool
	live      bool // handshake done: reads refresh the silence deadline
	listed    bool // its peer list arrived; guarded by n.mu
	limit     int  // largest frame body accepted: small until admitted

	// Used by the reader only.
	scratch []byte
	msgs    []Message

	mu      sync.Mutex // guards queue, leaving, last and drained
	queue   []byte
	leaving bool          // a goodbye was sent or received: no more data, no retry
	last    bool          // shut down once the queue is written
	drained chan struct{} // closed when the writer takes the queue, if non-nil

	spare []byte        // used by the writer only
	wake  chan struct{} // capacity 1: the queue became non-empty
	acked chan struct{} // closed when the remote acknowledges our goodbye
	done  chan struct{} // closed by shutdown
	once  sync.Once
}

func (n *Node) newPeer(conn net.Conn) *peer {
	p := &peer{
		n:     n,
		conn:  conn,
		limit: maxHandshakeFrame,
		wake:  make(chan struct{}, 1),
		acked: make(chan struct{}),
		done:  make(chan struct{}),
	}
	p.br = newReadBuffer(readerFunc(p.readConn))
	p.enc = n.cfg.codec.NewEncoder()
	p.dec = n.cfg.codec.NewDecoder()
	return p
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// readConn reads from the connection. Once the handshake is done, every read
// pushes the deadline out: a remote that stays silent for longer than the
// healthy interval plus the network timeout has missed a health check.
func (p *peer) readConn(b []byte) (int, error) {
	if p.live {
		p.conn.SetReadDeadline(time.Now().Add(p.n.silenceLimit()))
	}
	return p.conn.Read(b)
}

// appendControl queues a control frame, encoding v as its body if v is not
// nil. It runs under mu.
func (p *peer) appendControl(k wire.Kind, v any) error {
	start := len(p.queue)
	p.queue = wire.AppendHeader(p.queue, k, 0)
	if v != nil {
		q, err := p.enc.Append(p.queue, v)
		if err != nil {
			p.queue = p.queue[:start]
			return fmt.Errorf("encode %s: %w", k, err)
		}
		p.queue = q
	}
	wire.PutHeader(p.queue[start:], k, len(p.queue)-start-wire.HeaderSize)
	return nil
}

// probe queues a ping or pong for the writer. It does not wait for queue
// space, and does nothing once the peer is leaving.
func (p *peer) probe(k wire.Kind) {
	p.mu.Lock()
	if p.leaving {
		p.mu.Unlock()
		return
	}
	wasEmpty := len(p.queue) == 0
	p.queue = wire.AppendHeader(p.queue, k, 0)
	p.mu.Unlock()
	if wasEmpty {
		p.signal()
	}
}

func (p *peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// send queues data, waiting for queue space until timer fires or ctx ends.
func (p *peer) send(data []byte, wait *sendWait) error {
	p.mu.Lock()
	for len(p.queue) > 0 && len(p.queue)+wire.HeaderSize+len(data) > p.n.cfg.sendQueueSize && !p.leaving {
		if p.drained == nil {
			p.drained = make(chan struct{})
		}
		drained := p.drained
		p.mu.Unlock()
		if err := wait.until(drained, p.done); err != nil {
			return err
		}
		p.mu.Lock()
	}
	if p.leaving {
		p.mu.Unlock()
		return errLeft
	}
	wasEmpty := len(p.queue) == 0
	p.queue = wire.AppendHeader(p.queue, wire.KindData, len(data))
	p.queue = append(p.queue, data...)
	p.mu.Unlock()
	if wasEmpty {
		p.signal()
	}
	return nil
}

// errLeft reports a send to a remote that is leaving or gone.
var errLeft = fmt.Errorf("remote left: %w", ErrUnknownRemote)

// writeLoop writes the queue whenever it is not empty, until the peer shuts
// down.
func (p *peer) writeLoop() {
	for {
		select {
		case <-p.wake:
		case <-p.done:
			return
		}
		p.mu.Lock()
		buf := p.queue
		p.queue = p.spare[:0]
		last := p.last
		if p.drained != nil {
			close(p.drained)
			p.drained = nil
		}
		p.mu.Unlock()
		if len(buf) > 0 {
			p.conn.SetWriteDeadline(time.Now().Add(p.n.networkTimeout()))
			if _, err := p.conn.Write(buf); err != nil {
				p.n.drop(p, fmt.Errorf("write: %w", err))
				return
			}
		}
		if last {
			p.shutdown()
			return
		}
		if cap(buf) > maxSpare {
			buf = nil
		}
		p.spare = buf[:0]
	}
}

// shutdown closes the connection, which stops both goroutines.
func (p *peer) shutdown() {
	p.once.Do(func() {
		close(p.done)
		p.conn.Close()
	})
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
			p.mu.Lock()
			leaving := p.leaving
			p.mu.Unlock()
			if !leaving {
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
	k, size, err := wire.ParseHeader(h, p.limit)
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
	if len(p.msgs) == 0 {
		p.msgs = make([]Message, msgSlab)
	}
	m := &p.msgs[0]
	p.msgs = p.msgs[1:]
	m.From, m.Payload = p.remote, payload
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
