package cluster

import (
	"errors"
	"net/netip"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// A graceful leave is a goodbye: the side that leaves sends Bye, half-closes
// its side of the stream and reads on until ByeAck, for the network timeout
// or as long as its link keeps taking what it wrote (awaitAck); the other
// side removes it at once, acknowledges and closes. The leaver closes only
// then, so that its kernel does not reset the connection under a goodbye
// still on its way. Both then remember the other as one that left
// (markLeft), so neither redials it, and a stale peer list does not bring it
// back; Add does. Two nodes that say goodbye at once take each other's Bye
// for the acknowledgement.

// errNoAck is why a goodbye went unacknowledged.
var errNoAck = errors.New("no acknowledgement of the goodbye")

// maxLeft bounds how many graceful leavers a node remembers.
const maxLeft = 4096

// departure records a graceful leave: when, and by which node instance.
type departure struct {
	at    time.Time
	nonce string
}

// CloseRemote gracefully closes a connection with the remote specified. No
// automatic reconnection will be made.
//
// The remote is told, removes this node and does not reconnect either. Stale
// peer lists do not bring it back; Add does. CloseRemote waits for the remote
// to acknowledge, at most the network timeout after the link last took
// anything this node wrote.
func (n *Node) CloseRemote(r Remote) {
	k := r.key()
	n.mu.Lock()
	p := n.remotes.get(k)
	var nonce []byte
	if p != nil {
		nonce = p.nonce
	}
	n.markLeft(k, nonce)
	n.mu.Unlock()
	if p != nil {
		n.leave(p)
	}
}

// leave says goodbye to p and waits for the acknowledgement: all within the
// network timeout. The messages queued for p go out first, for at most half
// of it; the goodbye then overtakes what is left, which is discarded.
func (n *Node) leave(p *peer) {
	n.retire(p, ErrLocalLeave)
	p.mu.Lock()
	if p.getState().leaving() {
		p.mu.Unlock()
		return
	}
	p.setState(saidBye)
	p.mu.Unlock()
	p.relieve() // the acknowledgement comes on p's connection
	timeout, start := n.networkTimeout(), time.Now()
	t := time.NewTimer(timeout / 2)
	defer t.Stop()
	p.flush(t.C)
	p.mu.Lock()
	discarded := p.discard()
	p.sayBye = true
	p.mu.Unlock()
	p.signal()
	if discarded > 0 {
		n.emit(Event{Kind: EventDiscarded, Addr: p.key, Err: ErrLocalLeave, Count: discarded})
	}
	n.emit(Event{Kind: EventGoodbye, Addr: p.key, Err: p.awaitAck(start.Add(timeout), timeout)})
	p.shutdown()
}

// awaitAck waits for the acknowledgement of our goodbye until deadline, or
// for as long after it as the link keeps taking what we wrote, up to a
// timeout after it stops: the goodbye may wait behind a send buffer's worth
// of data on a slow link. It returns why no acknowledgement came, or nil.
func (p *peer) awaitAck(deadline time.Time, timeout time.Duration) error {
	w := newProgress(p.conn, timeout)
	tick := time.NewTicker(timeout / 2)
	defer tick.Stop()
	for {
		select {
		case <-p.acked:
			return nil
		case <-p.done:
			return because(ErrConnLost, errNoAck)
		case now := <-tick.C:
			if w.moved() {
				deadline = now.Add(timeout)
			} else if !now.Before(deadline) {
				return because(ErrTimeout, errNoAck)
			}
		}
	}
}

// flush waits until the writer has taken every queued message, or stop
// fires, or the connection ends either way.
func (p *peer) flush(stop <-chan time.Time) {
	for {
		p.mu.Lock()
		if p.queuedBytes() == 0 {
			p.mu.Unlock()
			return
		}
		if p.drained == nil {
			p.drained = make(chan struct{})
		}
		drained := p.drained
		p.mu.Unlock()
		select {
		case <-drained:
		case <-stop:
			return
		case <-p.acked:
			return
		case <-p.done:
			return
		}
	}
}

// discard drops the queued data and returns how many messages it held, one
// that the writer has begun included. p.mu must be held.
func (p *peer) discard() int {
	discarded := p.queued
	p.data, p.queued, p.rest = p.data[:p.taken], 0, 0
	p.publishQueue()
	return discarded
}

// farewell handles a goodbye from p's remote: remove it, then send what is
// queued for it, as its window allows, and the acknowledgement after it.
// The writer hangs up once that is written; what is not written within the
// network timeout is discarded (see expired). It reports whether the goodbye was an
// acknowledgement of ours instead: both sides said goodbye at once.
func (n *Node) farewell(p *peer) (crossed bool) {
	n.retire(p, ErrRemoteLeave)
	p.mu.Lock()
	if p.getState() == saidBye {
		p.mu.Unlock()
		close(p.acked)
		return true
	}
	p.setState(gotBye)
	p.data = wire.AppendHeader(p.data, wire.KindByeAck, 0)
	p.publishQueue()
	p.expire = time.NewTimer(n.networkTimeout())
	p.mu.Unlock()
	p.signal()
	return false
}

// goodbye tells the acceptor of a connection still in its handshake that we
// leave it, without waiting for an answer.
func (p *peer) goodbye() {
	p.conn.SetWriteDeadline(time.Now().Add(p.n.networkTimeout()))
	p.conn.Write(wire.AppendHeader(nil, wire.KindBye, 0))
}

// retire removes p's remote as one that left gracefully, for cause: never
// redialled.
func (n *Node) retire(p *peer, cause error) {
	p.endConversations(ErrRemoteLeft)
	n.mu.Lock()
	removed := n.removeLocked(p)
	n.markLeft(p.key, p.nonce)
	n.mu.Unlock()
	if removed {
		n.emit(Event{Kind: EventRemoved, Addr: p.key, Err: cause})
	}
}

// markLeft remembers that k, the instance with nonce if known, left
// gracefully, so that stale peer lists do not bring it back. n.mu must be
// held. Past maxLeft leavers, the oldest is forgotten: a scan of the map,
// once per leave of a node that has seen thousands.
func (n *Node) markLeft(k netip.AddrPort, nonce []byte) {
	n.unretryLocked(k)
	if _, known := n.left[k]; !known && len(n.left) >= maxLeft {
		oldest := k
		for a, d := range n.left {
			if oldest == k || d.at.Before(n.left[oldest].at) {
				oldest = a
			}
		}
		delete(n.left, oldest)
	}
	n.left[k] = departure{at: time.Now(), nonce: string(nonce)}
}

// expired ends a connection whose acknowledgement of the remote's goodbye
// did not go out within the network timeout, discarding what it still held.
// The writer calls it when p.expire fires.
func (n *Node) expired(p *peer) {
	p.mu.Lock()
	discarded := p.discard()
	p.mu.Unlock()
	if discarded > 0 {
		n.emit(Event{Kind: EventDiscarded, Addr: p.key, Err: ErrRemoteLeave, Count: discarded})
	}
	p.shutdown()
}
