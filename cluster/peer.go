package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/peerweave/peerweave/internal/link"
	"github.com/peerweave/peerweave/internal/wire"
)

// peer is the node's view of one remote: the connection's handshake, the
// identity it gave, a reader goroutine that handles frames (read.go), and,
// once admitted, the link that writes to it (internal/link).
type peer struct {
	n    *Node
	conn net.Conn
	br   *link.ReadBuffer // the handshake's; the link's reader takes it over
	dec  Decoder          // used by the handshake, then by the link's reader

	// Set by the handshake, then immutable.
	key    netip.AddrPort
	nonce  []byte
	join   bool // the dialler joined on its own behalf: a join connection (peerlist.go)
	redial bool // the dialler reconnects to a node it lost (redial.go)
	name   string
	label  string
	// tags are the remote's tags: from its hello, then replaced by its
	// reader, under the node lock, with newer ones (tags.go).
	tags atomic.Pointer[tagSet]
	// version is the protocol version the connection speaks: what a
	// version added goes only on connections of that version or later.
	version uint8
	// helloSent is set once a dialler has written its whole hello, which
	// the acceptor may take: from then on, giving up means a goodbye.
	helloSent bool

	// link is the connection once admitted, set by admit before the peer
	// is published, then immutable; nil during the handshake.
	link *link.Link
	// admitted is set, under the node lock, once startLink has made the
	// link: from then on the handshake's deadline no longer applies
	// (interruptHandshake), and the link says where a goodbye stands.
	admitted atomic.Bool
	listed   bool // its peer list arrived; guarded by the node lock

	from Remote // the remote as the message handler sees it; reader only

	in       inbound  // the reader's side of flow control, and messages waiting for Inbox
	handling handling // the message handler's calls (handler.go)

	// mu is the encoder's lock: control messages are encoded and queued
	// under it one at a time, in the order the connection carries them,
	// as the codec contract wants (one Encoder per connection, in order).
	// Nothing but p's own encoding and queueing runs under it; the link's
	// lock and identity.mu are taken inside it.
	mu  sync.Mutex // guards the fields below
	enc Encoder    // appends to body
	// ctrl holds the frames written before the link exists: the
	// handshake's, then the link's first frames (admit).
	ctrl []byte
	body []byte // the last control body encoded, for reuse
	// sentTags is the version of this node's tags last queued for the
	// remote, in our hello or a tags frame.
	sentTags uint64
	// tagsRate counts the tags frames the remote sent: its reader's only.
	tagsRate rateCount
	// stall is the remote's suspension while its window stays shut
	// (stall.go).
	stall stall

	st   peerStats // stats.go
	conv peerConv  // requests and replies (request.go)
}

func (n *Node) newPeer(conn net.Conn) *peer {
	p := &peer{n: n, conn: conn}
	p.br = link.NewReadBuffer(conn)
	p.enc = n.cfg.codec.NewEncoder()
	p.dec = n.cfg.codec.NewDecoder()
	return p
}

// leaving reports whether p's link is in a goodbye, either way.
func (p *peer) leaving() bool { return p.link != nil && p.link.State().Leaving() }

// firstFrames returns the frames that open p's link once admitted, after
// those the handshake left in p.ctrl: the acceptor's Welcome, our tags and
// the window we grant past the initial one. It runs before p is
// published, so that encoding the tags holds no lock but p's.
func (p *peer) firstFrames(acceptor bool) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	handshake := p.ctrl
	p.ctrl = nil
	if acceptor {
		p.appendControl(wire.KindWelcome, nil)
	}
	p.queueTagsLocked()
	if w := p.n.cfg.window; w > wire.InitialWindow {
		p.appendRaw(wire.KindWindow, windowBody(w-wire.InitialWindow))
	}
	first := p.ctrl
	p.ctrl = handshake
	return first
}

// startLink makes p's link, whose first frames are those the handshake
// left in p.ctrl and first, and marks p admitted. p.mu must be held, and the node lock,
// which guards the move out of handshaking (interrupt).
func (p *peer) startLink(first []byte) {
	n := p.n
	cfg := link.Config{
		Timeout: n.networkTimeout, Silence: n.silenceLimit, Go: n.wg.Go,
		SendQueue: n.cfg.sendQueueSize, Window: n.cfg.window, GrantAt: n.grantAt,
		MaxMessage: n.cfg.maxMessage, MaxTags: n.tagsFrameLimit(), LastKind: p.lastKind(),
		Overhead: wire.Overhead(p.version), Borrow: n.cfg.messageHandler != nil,
	}
	p.link = link.New(p.conn, p.br, p, cfg, append(p.ctrl, first...))
	p.br = nil
	p.ctrl = nil
	p.admitted.Store(true)
}

// appendControl queues a control frame, encoding v as its body if v is not
// nil: in p.ctrl during the handshake, on the link once there is one. It
// runs under p.mu.
func (p *peer) appendControl(k wire.Kind, v any) error {
	body := p.body[:0]
	if v != nil {
		b, err := p.enc.Append(body, v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", k, err)
		}
		body = b
	}
	p.appendRaw(k, body)
	if cap(body) <= link.MaxSpare {
		p.body = body
	}
	return nil
}

// queueControl queues a control frame of kind k, encoding v as its body
// with p's encoder.
func (p *peer) queueControl(k wire.Kind, v any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.appendControl(k, v)
}

// control queues a control frame with a raw body (nil for none) and wakes
// the writer.
func (p *peer) control(k wire.Kind, body []byte) { p.link.Control(k, body) }

// appendRaw queues a control frame with a raw body: in p.ctrl during the
// handshake, on the link once there is one. p.mu must be held.
func (p *peer) appendRaw(k wire.Kind, body []byte) {
	if p.link != nil {
		p.link.Control(k, body)
		return
	}
	p.ctrl = wire.AppendHeader(p.ctrl, k, len(body))
	p.ctrl = append(p.ctrl, body...)
}

// windowBody returns the body of a Window frame that opens a window by n.
func windowBody(n int) []byte { return link.WindowBody(n) }

// signal wakes the link's writer.
func (p *peer) signal() { p.link.Wake() }

// send queues data for p, behind wait.tag if any, waiting for queue space
// as wait allows.
func (p *peer) send(data []byte, wait *sendWait) error {
	for {
		drained, ok := p.link.Queue(wait.tag, data)
		if !ok {
			return errLeft
		}
		if drained == nil {
			return nil
		}
		p.relieve() // room comes with the remote's Window frames
		if err := wait.until(drained, p.link.Done()); err != nil {
			return err
		}
	}
}

// errLeft reports a send to a remote that is leaving or gone.
var errLeft = fmt.Errorf("remote left: %w", ErrUnknownRemote)

// shutdown closes the connection, which stops both goroutines.
func (p *peer) shutdown() { p.link.Close() }

// WriteFailed drops p, whose link could not write (link.Handler).
func (p *peer) WriteFailed(err error) { p.n.drop(p, writeError{err}) }

// Expired tells of the messages discarded when p's acknowledgement of its
// remote's goodbye did not go out in time (link.Handler).
func (p *peer) Expired(discarded int) {
	if discarded > 0 {
		p.n.emit(Event{Kind: EventDiscarded, Addr: p.key, Err: ErrRemoteLeave, Count: discarded})
	}
}
