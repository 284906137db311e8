package cluster

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/peerweave/peerweave/internal/link"
	"github.com/peerweave/peerweave/internal/wire"
)

// maxWindow is the largest window a node grants or accepts.
const maxWindow = link.MaxWindow

// grantAt returns how many released bytes make a node grant them back to a
// remote through a window of w bytes: a quarter of it, but never more than
// w less one fragment. A remote waits only for room for a frame, at most a
// fragment; so then more than w less a fragment is out, and once it is
// released, it is granted back, whatever the application read last.
func grantAt(w int) int { return max(1, min(w/4, w-wire.MaxFragment)) }

// inbound is the node's side of a connection's flow control (the link
// keeps the window this node granted the remote): the messages that came in
// while Inbox was full. A reader never waits for Inbox: it parks such messages here, in
// order, for the node's deliverer, so that it keeps reading pings, pongs,
// peer lists and goodbyes whatever the application does. The remote cannot
// send more than the window, which reopens only as messages move into Inbox,
// so what waits here is bounded by the window.
type inbound struct {
	mu      sync.Mutex      // guards pending, partHeld and claim
	pending []parkedMessage // oldest first; its first message is the deliverer's
	// partHeld is how many bytes of the fragmented payload under way the
	// node has not granted back yet. While nothing is parked and the
	// payload holds room in the node's assembly budget (claim), it grants
	// a fragment's bytes back as they arrive, since the budget bounds the
	// payloads under way; otherwise it holds them, so that the window
	// bounds what is parked and what waits for room, and grants them once
	// both hold: the last parked message has gone into Inbox and the
	// payload has room. So a payload larger than the window crosses it,
	// and a remote's messages not yet in Inbox take at most the window,
	// plus what the assembly budget bounds for all remotes together.
	partHeld int
	// claim is the assembly budget's claim of the fragmented payload under
	// way, nil if none (assembly.go).
	claim *claim
	// carried is the room in the budget that the payload the link just
	// completed holds, for Payload to hand to its message: the reader's.
	carried int64
	// parked is len(pending), changed under mu and read without it by the
	// reader: only the reader parks messages, so while it reads 0, no
	// older message of the peer waits and it may put one on Inbox itself.
	parked atomic.Int32
}

// parkedMessage is a message waiting for room in Inbox, and how many of its
// bytes to grant back to the remote when it goes in.
type parkedMessage struct {
	m      *Message
	charge int
	tag    *tag  // non-nil: m is a request's or a reply's body, which never goes into Inbox (request.go)
	held   int64 // room in the assembly budget, freed when it goes in
}

// deliver puts m, tagged by t if not nil, on the Inbox, or, if the Inbox is full or older messages of
// p wait, parks it for the deliverer; charge bytes are granted back to the
// remote, and held bytes of room to the assembly budget, when it goes in.
// While the node closes, a message that would have to wait is discarded.
func (p *peer) deliver(m *Message, t *tag, charge int, held int64) {
	in := &p.in
	// A reply goes to its caller at once, even past messages parked before
	// it: a caller that reads Inbox itself must not wait for its own reply
	// behind the messages it would read next.
	if (in.parked.Load() == 0 || t.reply()) && p.pass(m, t) || p.n.closing() {
		p.release(charge)
		p.n.freeClaim(held)
		return
	}
	in.mu.Lock()
	in.pending = append(in.pending, parkedMessage{m, charge, t, held})
	in.parked.Add(1)
	first := len(in.pending) == 1
	in.mu.Unlock()
	if first {
		p.n.backlog.add(p)
	}
}

// pass hands m to where it goes now, if it can: the Inbox, or for a tagged
// payload, the request handler or the caller that waits for the reply.
func (p *peer) pass(m *Message, t *tag) bool {
	if t != nil {
		return p.tryServe(m, t)
	}
	return p.n.offer(m)
}

// offer puts m on the Inbox if there is room for it now.
func (n *Node) offer(m *Message) bool {
	select {
	case n.Inbox <- m:
		return true
	default:
		return false
	}
}

// release grants the remote again the bytes of messages taken into Inbox
// (link.Release).
func (p *peer) release(n int) { p.link.Release(n) }

// backlog is the node's queue of peers with messages parked for Inbox, served
// in turn by one goroutine, the deliverer, one message at a time.
type backlog struct {
	mu    sync.Mutex // guards ready
	ready []*peer
	wake  chan struct{} // capacity 1
}

// add queues p, which has a message parked, for its turn.
func (b *backlog) add(p *peer) {
	b.mu.Lock()
	b.ready = append(b.ready, p)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// next returns the peer whose turn it is, waiting for one until done closes.
func (b *backlog) next(done <-chan struct{}) *peer {
	for {
		b.mu.Lock()
		if len(b.ready) > 0 {
			p := b.ready[0]
			b.ready[0] = nil
			b.ready = b.ready[1:]
			if len(b.ready) == 0 {
				b.ready = nil
			}
			b.mu.Unlock()
			return p
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-done:
			return nil
		}
	}
}

// deliverLoop moves parked messages into Inbox as it makes room, until the
// node closes. It waits for room for a peer's oldest message, then moves as
// many more of that peer's as Inbox takes at once, up to a turn's worth, and
// serves the next peer.
func (n *Node) deliverLoop() {
	for {
		p := n.backlog.next(n.ctx.Done())
		if p == nil {
			return
		}
		in := &p.in
		in.mu.Lock()
		first := in.pending[0]
		in.mu.Unlock()
		if first.tag != nil {
			if !p.serveOrWait(first.m, first.tag) {
				continue
			}
		} else {
			select {
			case n.Inbox <- first.m:
			case <-n.ctx.Done():
				return
			}
		}
		// A message leaves pending only once it is in Inbox, so that the
		// reader, which delivers directly only when pending is empty,
		// cannot overtake it.
		in.mu.Lock()
		released, held := first.charge, first.held
		in.pop()
		for moved := 1; moved < maxTurn && len(in.pending) > 0 && p.pass(in.pending[0].m, in.pending[0].tag); moved++ {
			released += in.pending[0].charge
			held += in.pending[0].held
			in.pop()
		}
		more := len(in.pending) > 0
		if !more && (in.claim == nil || in.claim.held.Load()) {
			released += in.partHeld
			in.partHeld = 0
		}
		in.mu.Unlock()
		p.release(released)
		n.freeClaim(held)
		if more {
			n.backlog.add(p)
		}
	}
}

// maxTurn is the most messages of one peer the deliverer moves in a turn.
const maxTurn = 64

// pop drops the oldest parked message. in.mu must be held.
func (in *inbound) pop() {
	in.pending[0] = parkedMessage{}
	if in.pending = in.pending[1:]; len(in.pending) == 0 {
		in.pending = nil
	}
	in.parked.Add(-1)
}

// A small payload comes in one allocation with its Message and its sender's
// IP; a larger one in two, the payload apart, where the allocator need not
// zero it nor the garbage collector scan it (an object of over 512 bytes
// that holds pointers costs more to allocate than the two). Either way a
// delivered Message aliases nothing the node keeps or another Message holds:
// the application may keep or change it freely, and a retained Message keeps
// no other in memory.
type (
	message struct {
		Message
		ip [16]byte
	}
	message64 struct {
		message
		b [64]byte
	}
	message256 struct {
		message
		b [smallPayload]byte
	}
)

// smallPayload is the largest payload allocated with its Message.
const smallPayload = 256

// newMessage returns a Message from the remote at k with room for a payload
// of size bytes, or, past smallPayload, a nil Payload for the caller to fill.
func newMessage(k netip.AddrPort, size int) *Message {
	var m *message
	switch {
	case size > smallPayload:
		m = new(message)
	case size > 64:
		x := new(message256)
		m = &x.message
		m.Payload = x.b[:size]
	default:
		x := new(message64)
		m = &x.message
		m.Payload = x.b[:size]
	}
	a := k.Addr()
	m.ip = a.As16()
	ip := net.IP(m.ip[:])
	if a.Is4() {
		ip = ip[12:]
	}
	m.From = Remote{IP: ip, Port: int(k.Port()), Zone: a.Zone()}
	return &m.Message
}
