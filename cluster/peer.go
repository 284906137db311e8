package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport"
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
// queues while there is something in them (writeLoop).
//
// There are two queues, both of whole frames appended under mu. Control
// frames go out first; data frames (a payload in one Data frame, or in
// fragments: see package wire) go out in order, as far as the remote's
// window allows, at most about wire.MaxFragment bytes of them per write, so
// that a control frame queued during a large transfer waits for one write
// at most.
type peer struct {
	n    *Node
	conn net.Conn
	br   *readBuffer
	enc  Encoder // appends to ctrl; used under mu
	dec  Decoder // used by the reader only

	// Set by the handshake, then immutable.
	key    netip.AddrPort
	nonce  []byte
	join   bool // the dialler joined on its own behalf: a join connection (peerlist.go)
	redial bool // the dialler reconnects to a node it lost (redial.go)
	name   string
	label  string
	// tags are the remote's tags: from its hello, then replaced by its
	// reader, under n.mu, with newer ones (tags.go).
	tags atomic.Pointer[tagSet]
	// version is the protocol version the connection speaks: what a
	// version added goes only on connections of that version or later.
	version uint8
	// helloSent is set once a dialler has written its whole hello, which
	// the acceptor may take: from then on, giving up means a goodbye.
	helloSent bool

	// state is written under mu and read without it by the reader, which
	// only needs to know whether the connection is live yet.
	state  atomic.Uint32 // a peerState
	listed bool          // its peer list arrived; guarded by n.mu

	scratch []byte // used by the reader only
	from    Remote // the remote as the message handler sees it; reader only

	in       inbound  // the reader's side of flow control, and messages waiting for Inbox
	handling handling // the message handler's calls (handler.go)

	mu      sync.Mutex // guards the fields below and changes of state
	ctrl    []byte     // control frames to write
	data    []byte     // data frames; data[:taken] are written or being written
	taken   int
	credit  int           // payload bytes the remote's window lets us send
	queued  int           // messages not wholly taken by the writer
	rest    int           // payload bytes of the fragmented message being taken, after the frames taken
	drained chan struct{} // closed when the writer takes data, if non-nil
	expire  *time.Timer   // set by farewell: the writer gives up on the acknowledgement of a goodbye when it fires
	sayBye  bool          // set by leave: the writer writes our goodbye once the data taken is out, then half-closes
	// sentTags is the version of this node's tags last queued for the
	// remote, in our hello or a tags frame.
	sentTags uint64
	// tagsRate counts the tags frames the remote sent: its reader's only.
	tagsRate rateCount

	spare []byte        // used by the writer only: the ctrl buffer it last wrote
	wake  chan struct{} // capacity 1: there may be something to write
	acked chan struct{} // closed when the remote acknowledges our goodbye
	done  chan struct{} // closed by shutdown
	once  sync.Once

	st   peerStats // stats.go
	conv peerConv  // requests and replies (request.go)

	// writing says that a writer goroutine runs; stopped that the reader
	// has ended, so none may start. Both are guarded by mu; writers counts
	// the writer for the reader to wait for.
	writing, stopped bool
	writers          sync.WaitGroup
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
// nil. It runs under mu; the caller signals the writer.
func (p *peer) appendControl(k wire.Kind, v any) error {
	start := len(p.ctrl)
	p.ctrl = wire.AppendHeader(p.ctrl, k, 0)
	if v != nil {
		q, err := p.enc.Append(p.ctrl, v)
		if err != nil {
			p.ctrl = p.ctrl[:start]
			return fmt.Errorf("encode %s: %w", k, err)
		}
		p.ctrl = q
	}
	wire.PutHeader(p.ctrl[start:], k, len(p.ctrl)-start-wire.HeaderSize)
	return nil
}

// control queues a control frame with a raw body (nil for none) and wakes
// the writer.
func (p *peer) control(k wire.Kind, body []byte) {
	p.mu.Lock()
	p.appendRaw(k, body)
	p.mu.Unlock()
	p.signal()
}

// appendRaw queues a control frame with a raw body. p.mu must be held.
func (p *peer) appendRaw(k wire.Kind, body []byte) {
	p.ctrl = wire.AppendHeader(p.ctrl, k, len(body))
	p.ctrl = append(p.ctrl, body...)
}

// windowBody returns the body of a Window frame that opens a window by n.
func windowBody(n int) []byte {
	return wire.Window{Increment: uint32(n)}.Append(make([]byte, 0, wire.WindowSize))
}

// probe queues a ping or pong.
func (p *peer) probe(k wire.Kind) { p.control(k, nil) }

// grant opens the remote's window into this node by n bytes.
func (p *peer) grant(n int) { p.control(wire.KindWindow, windowBody(n)) }

// signal wakes the writer, and starts it if it is not running: an idle
// connection has no writer goroutine (see writeLoop).
//
// The wake-up is queued under p.mu, so that a writer about to go idle
// (idleExit, which looks at p.wake under p.mu) either sees it or has
// already said it stopped, and then this call starts another.
func (p *peer) signal() {
	p.mu.Lock()
	start := !p.writing && !p.stopped
	if start {
		p.writing = true
		p.writers.Add(1)
	} else {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()
	if start {
		go p.writeLoop()
	}
}

// stopWriters keeps writers from starting and waits for the one running, if
// any: the reader calls it as it ends, so that the node, which waits for the
// reader, waits for the writer too.
func (p *peer) stopWriters() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.writers.Wait()
}

// idleExit ends the writer, which has just found nothing it may write, if
// the connection is live and nothing came meanwhile; a goodbye keeps it,
// waiting for its acknowledgement or its expiry. Data still queued waits for
// the remote's window, whose Window frame signals. It reports whether the
// writer is to return.
func (p *peer) idleExit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.getState() != live || len(p.ctrl) > 0 || len(p.wake) > 0 {
		return false
	}
	p.writing = false
	return true
}

// queuedBytes is how much data waits for the writer. p.mu must be held.
func (p *peer) queuedBytes() int { return len(p.data) - p.taken }

// send queues data, waiting for queue space as wait allows.
func (p *peer) send(data []byte, wait *sendWait) error {
	p.mu.Lock()
	for p.queuedBytes() > 0 && p.queuedBytes()+len(data) > p.n.cfg.sendQueueSize && !p.getState().leaving() {
		if p.drained == nil {
			p.drained = make(chan struct{})
		}
		drained := p.drained
		p.mu.Unlock()
		p.relieve() // room comes with the remote's Window frames
		if err := wait.until(drained, p.done); err != nil {
			return err
		}
		p.mu.Lock()
	}
	if p.getState().leaving() {
		p.mu.Unlock()
		return errLeft
	}
	wasEmpty := p.queuedBytes() == 0
	p.data = appendData(append(p.data, wait.tag...), data)
	p.queued++
	p.publishQueue()
	p.mu.Unlock()
	if wasEmpty {
		p.signal()
	}
	return nil
}

// appendData appends the frames of one payload to b: a Data frame, or
// fragments of at most wire.MaxFragment bytes, after growing b once to hold
// them all.
func appendData(b, data []byte) []byte {
	if len(data) <= wire.MaxFragment {
		b = wire.AppendHeader(b, wire.KindData, len(data))
		return append(b, data...)
	}
	frames := (len(data) + wire.MaxFragment - 1) / wire.MaxFragment
	b = slices.Grow(b, len(data)+frames*wire.HeaderSize+wire.FirstSize)
	b = wire.AppendHeader(b, wire.KindFirst, wire.FirstSize+wire.MaxFragment)
	b = wire.First{Total: uint32(len(data))}.Append(b)
	b = append(b, data[:wire.MaxFragment]...)
	for data = data[wire.MaxFragment:]; len(data) > 0; {
		n := min(len(data), wire.MaxFragment)
		b = wire.AppendHeader(b, wire.KindMore, n)
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}

// errLeft reports a send to a remote that is leaving or gone.
var errLeft = fmt.Errorf("remote left: %w", ErrUnknownRemote)

// take hands the writer what it may write now: every control frame, and the
// data frames that the remote's window and one write's budget allow, or our
// goodbye once the data taken before is out. last says that they end with
// the acknowledgement of the remote's goodbye, and the connection with them,
// or with our goodbye, and our side of the stream with it. p.mu must be
// held.
func (p *peer) take() (ctrl, data []byte, last bool) {
	ctrl = p.ctrl
	p.ctrl, p.spare = p.spare[:0], nil
	start, queued, sent := p.taken, p.queued, 0
	for p.taken < len(p.data) {
		h := wire.HeaderOf(p.data[p.taken:])
		kind, payload := h.Kind, h.Size
		var first wire.First
		switch kind {
		case wire.KindFirst:
			payload -= wire.FirstSize
			first, _ = wire.ParseFirst(p.data[p.taken+wire.HeaderSize:][:wire.FirstSize]) // written by appendData
		case wire.KindRequest, wire.KindReply:
			payload = 0 // a tag's bytes count neither against the window nor as traffic
		}
		frame := wire.HeaderSize + h.Size
		if payload > p.credit || (p.taken > start && p.taken-start+frame > wire.MaxFragment) {
			break
		}
		switch kind {
		case wire.KindByeAck:
			last = true
		case wire.KindData:
			p.queued--
		case wire.KindFirst:
			p.rest = int(first.Total) - payload
		case wire.KindMore:
			if p.rest -= payload; p.rest == 0 {
				p.queued--
			}
		}
		p.credit -= payload
		p.taken += frame
		sent += payload
	}
	p.st.bytesOut.Add(uint64(sent))
	p.st.msgsOut.Add(uint64(queued - p.queued))
	p.publishQueue()
	if p.taken > start && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
	if p.sayBye && p.taken == start {
		ctrl = wire.AppendHeader(ctrl, wire.KindBye, 0)
		p.sayBye, last = false, true
	}
	return ctrl, p.data[start:p.taken], last
}

// written tells the queues that the writer wrote what take gave it. p.mu
// must be held.
func (p *peer) written(ctrl []byte) {
	if cap(ctrl) <= maxSpare {
		p.spare = ctrl[:0]
	}
	switch {
	case p.taken == len(p.data) && cap(p.data) > maxSpare:
		p.data, p.taken = nil, 0
	case p.taken == len(p.data):
		p.data, p.taken = p.data[:0], 0
	case p.taken > len(p.data)/2:
		p.data = p.data[:copy(p.data, p.data[p.taken:])]
		p.taken = 0
	}
}

// writeLoop writes whatever may be written, until the peer shuts down or,
// once it has acknowledged the remote's goodbye, until that is written.
// Each write is bounded, and so is the time it may take: a connection whose
// link takes nothing for the network timeout is dropped, however much there
// is to send (writeLink). A live connection's writer returns once it runs out of work,
// and signal starts another when there is some, so that an idle remote
// costs no goroutine.
func (p *peer) writeLoop() {
	defer p.writers.Done()
	for first := true; ; first = false {
		if !first && p.idleExit() {
			return
		}
		if !first {
			select {
			case <-p.wake:
			case <-p.expiry():
				p.n.expired(p)
				return
			case <-p.done:
				return
			}
		}
		for {
			p.mu.Lock()
			ctrl, data, last := p.take()
			p.mu.Unlock()
			idle := len(ctrl) == 0 && len(data) == 0
			if !idle {
				if err := p.write(ctrl, data); err != nil {
					p.n.drop(p, writeError{err})
					return
				}
			}
			if last && p.getState() == saidBye {
				p.halfClose()
				return
			}
			if last {
				p.shutdown()
				return
			}
			p.mu.Lock()
			p.written(ctrl)
			p.mu.Unlock()
			if idle {
				break
			}
		}
	}
}

// write writes ctrl, then data, in one call where it can, for as long as
// the link makes progress (writeLink).
func (p *peer) write(ctrl, data []byte) error {
	if len(ctrl) > 0 && len(data) > 0 && len(data) <= maxCopy {
		ctrl, data = append(ctrl, data...), nil
	}
	for _, b := range [][]byte{ctrl, data} {
		if len(b) == 0 {
			continue
		}
		if err := writeLink(p.conn, b, p.n.networkTimeout()); err != nil {
			return err
		}
	}
	return nil
}

// halfClose ends our side of the stream once our goodbye is written: no
// writer runs again, and the remote reads the end of the stream after the
// goodbye, while we read on until its acknowledgement (leave). Closing
// instead would make our kernel reset the connection at the remote's next
// frame, and the reset can overtake the goodbye.
func (p *peer) halfClose() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	if hc, ok := p.conn.(transport.HalfCloser); ok {
		hc.CloseWrite()
	}
}

// maxCopy is the most data a write copies behind control frames to make one
// system call of two.
const maxCopy = 4 << 10

// shutdown closes the connection, which stops both goroutines.
func (p *peer) shutdown() {
	p.once.Do(func() {
		close(p.done)
		p.conn.Close()
	})
}

// expiry returns the channel of p.expire, or nil, which blocks, before a
// goodbye.
func (p *peer) expiry() <-chan time.Time {
	if p.getState() != gotBye {
		return nil // before a goodbye, without the lock, as on every wait
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.expire == nil {
		return nil
	}
	return p.expire.C
}
