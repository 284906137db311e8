package link

import (
	"errors"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// State is where a link is in its goodbye. It only moves forward:
//
//	Live ──BeginLeave──> SaidBye ──Bye──> (what was taken goes out, then our Bye; half-close)
//	 │                      │
//	 │                      └──AckReceived, or the remote's Bye (crossed)──> acked: the leaver closes
//	 │                      └──AwaitAck gives up (timeout, or the link closed)──> the leaver closes
//	 │
//	 └──GotBye (the remote's Bye)──> GotBye ──what is queued, then ByeAck written──> closed
//	                                   └──not written within the timeout (expiry)──> rest discarded, closed
//
// Two links that say goodbye at once each take the other's Bye for the
// acknowledgement of their own.
type State uint32

const (
	// Live: frames flow both ways.
	Live State = iota
	// SaidBye: we said goodbye, or are about to once what is queued is
	// out, and wait for its acknowledgement. No more data is queued.
	SaidBye
	// GotBye: the remote said goodbye; the writer sends what is queued
	// and our acknowledgement, then closes the link.
	GotBye
)

// Leaving reports whether s is one of the goodbye states.
func (s State) Leaving() bool { return s >= SaidBye }

// Errors of AwaitAck: why the acknowledgement of our goodbye did not come.
var (
	// ErrAckLost: the link closed first.
	ErrAckLost = errors.New("link closed before the goodbye was acknowledged")
	// ErrAckTimeout: the network timeout passed since the link last took
	// anything we wrote.
	ErrAckTimeout = errors.New("goodbye not acknowledged in time")
)

// BeginLeave moves a live link to SaidBye and reports whether it did: it
// does not if a goodbye is under way either way. From then on Queue takes
// no more data; the caller flushes (Flush), says goodbye (Bye) and waits
// for the acknowledgement (AwaitAck).
func (l *Link) BeginLeave() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.State().Leaving() {
		return false
	}
	l.setState(SaidBye)
	return true
}

// Flush waits until the writer has taken every queued message, or stop
// fires, or the link ends either way.
func (l *Link) Flush(stop <-chan time.Time) {
	for {
		l.mu.Lock()
		if l.queuedBytesLocked() == 0 {
			l.mu.Unlock()
			return
		}
		if l.drained == nil {
			l.drained = make(chan struct{})
		}
		drained := l.drained
		l.mu.Unlock()
		select {
		case <-drained:
		case <-stop:
			return
		case <-l.acked:
			return
		case <-l.done:
			return
		}
	}
}

// Bye discards what is still queued, beyond what the writer took, and has
// the writer say goodbye once what it took is out, then half-close. It
// returns how many messages it discarded.
func (l *Link) Bye() (discarded int) {
	l.mu.Lock()
	discarded = l.discard()
	l.sayBye = true
	l.mu.Unlock()
	l.signal()
	return discarded
}

// AwaitAck waits for the acknowledgement of our goodbye until deadline, or
// for as long after it as the link keeps taking what we wrote, up to a
// timeout after it stops: the goodbye may wait behind a send buffer's worth
// of data on a slow link. It returns nil, ErrAckLost or ErrAckTimeout.
func (l *Link) AwaitAck(deadline time.Time, timeout time.Duration) error {
	w := newProgress(l.conn)
	tick := time.NewTicker(timeout / 2)
	defer tick.Stop()
	for {
		select {
		case <-l.acked:
			return nil
		case <-l.done:
			return ErrAckLost
		case now := <-tick.C:
			if w.moved() {
				deadline = now.Add(timeout)
			} else if !now.Before(deadline) {
				return ErrAckTimeout
			}
		}
	}
}

// GotBye takes the remote's goodbye: what is queued for it goes out as its
// window allows, then our acknowledgement, and the writer closes the link
// once that is written; what is not written within the network timeout is
// discarded (Expired). It reports whether the goodbye was an
// acknowledgement of ours instead: both sides said goodbye at once.
func (l *Link) GotBye() (crossed bool) {
	l.mu.Lock()
	if l.State() == SaidBye {
		l.mu.Unlock()
		close(l.acked)
		return true
	}
	l.setState(GotBye)
	l.data = wire.AppendHeader(l.data, wire.KindByeAck, 0)
	l.publishQueue()
	l.expire = time.NewTimer(l.cfg.Timeout())
	l.mu.Unlock()
	l.signal()
	return false
}

// AckReceived takes the remote's acknowledgement of our goodbye. It
// reports false, a breach of the protocol, if we said none.
func (l *Link) AckReceived() bool {
	if l.State() != SaidBye {
		return false
	}
	close(l.acked)
	return true
}

// expiry returns the channel of l.expire, or nil, which blocks, before a
// goodbye.
func (l *Link) expiry() <-chan time.Time {
	if l.State() != GotBye {
		return nil // before a goodbye, without the lock, as on every wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.expire == nil {
		return nil
	}
	return l.expire.C
}

// expired ends a link whose acknowledgement of the remote's goodbye did not
// go out within the network timeout, discarding what it still held. The
// writer calls it when l.expire fires.
func (l *Link) expired() {
	l.mu.Lock()
	discarded := l.discard()
	l.mu.Unlock()
	l.h.Expired(discarded)
	l.Close()
}
