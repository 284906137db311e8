package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// maxSpare is the largest write buffer a peer keeps between writes.
const maxSpare = 4 << 20

// peerState is where a connection is in its life. It only moves forward:
// handshaking, live, then leaving in one of two ways; a connection can also
// end in any state, which closes done.
type peerState uint32

const (
	// handshaking: frames are bounded by maxHandshakeFrame and the
	// handshake's own deadline applies.
	handshaking peerState = iota
	// live: the remote is registered; frames up to the maximum message size
	// flow both ways and every read pushes the silence deadline out.
	live
	// saidBye: this node sent a goodbye and waits for its acknowledgement
	// (acked). No more data goes out, and the remote is not redialled.
	saidBye
	// gotBye: the remote said goodbye; the writer sends our
	// acknowledgement, then closes the connection.
	gotBye
)

// leaving reports whether s is one of the goodbye states.
func (s peerState) leaving() bool { return s >= saidBye }

// peer is one connection to a remote: its handshake, a reader goroutine that
// handles frames (read.go), and a writer goroutine that drains the send
// queue.
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
	key   netip.AddrPort
	nonce []byte
	join  bool // the dialler joined on its own behalf
	// helloSent is set once a dialler has written its whole hello, which
	// the acceptor may take: from then on, giving up means a goodbye.
	helloSent bool

	// state is written under mu and read without it by the reader, which
	// only needs to know whether the connection is live yet.
	state  atomic.Uint32 // a peerState
	listed bool          // its peer list arrived; guarded by n.mu

	scratch []byte // used by the reader only

	mu      sync.Mutex // guards queue, drained and changes of state
	queue   []byte
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

func (p *peer) getState() peerState { return peerState(p.state.Load()) }

// setState moves p to s. p.mu must be held.
func (p *peer) setState(s peerState) { p.state.Store(uint32(s)) }

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
	if p.getState().leaving() {
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
	for len(p.queue) > 0 && len(p.queue)+wire.HeaderSize+len(data) > p.n.cfg.sendQueueSize && !p.getState().leaving() {
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
	if p.getState().leaving() {
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
// down, or, once it has acknowledged the remote's goodbye, until that is
// written.
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
		last := p.getState() == gotBye
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
