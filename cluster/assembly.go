package cluster

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/internal/link"
)

// A payload larger than a fragment crosses in pieces, which the link
// gathers into a buffer of its own (link.Link.part). The window bounds what
// a remote sends before the node consumes it, but a payload larger than the
// window must still cross, so the node gives a fragment's bytes back to the
// remote as they arrive: the payload under way is held beyond the window.
// The assembly budget bounds what all remotes hold that way together.
//
// When a payload's first fragment arrives, it reserves its whole size
// (a claim) if the budget has room and no other payload waits for room;
// its fragments are then given back as they arrive (data.go). Otherwise
// it waits, in order of arrival, and its fragments stay charged to its
// remote's window, so that the remote can send at most a window more, and
// then waits for room too. As soon as room frees (a payload consumed, a
// connection ended), the oldest waiting payload gets its claim, and what
// its fragments held of the window goes back to its remote. A claim holds
// until its payload leaves the node: into Inbox, to the message handler or
// a request handler, or discarded with its connection; but a payload whose
// fragments were all held in its window (its remote's messages waited for
// Inbox meanwhile) frees its claim as it completes, since the window bounds
// it already. So a remote holds at most one payload beyond its window.
//
// A holder cannot keep the budget for long at others' expense: while a
// payload waits for room, a holder whose payload gains less than
// minAssemblyRate over one network timeout has its connection dropped as
// one that breaks the protocol, which frees its claim (checkAssembly). A
// holder whose payload does not move because its own messages wait for
// room in Inbox is spared: that is this node's application holding it up.

// assemblyMessages is the budget, in maximum-size messages.
const assemblyMessages = 4

// minClaim is the least a payload claims, whatever its size: the buffer it
// is read into starts that large (link.EagerRead), and it bounds the
// number of claims, which checkAssembly scans, by the budget over it.
const minClaim = link.EagerRead

// minAssemblyRate is the rate, in bytes a second, below which a payload
// under way loses its claim while others wait for room: 64 KiB/s, so that
// a maximum-size payload (16 MiB at the defaults) takes at most 256 s.
const minAssemblyRate = 64 << 10

// assembly is the node's budget for payloads under way.
type assembly struct {
	limit int64 // fixed by NewNode

	mu   sync.Mutex // guards the fields below; held for no I/O and no call out of this file
	used int64      // bytes claimed, by payloads under way and by those waiting to be consumed
	// queue holds the claims that wait for room, oldest first, and, among
	// them, stale ones that stopped waiting (their payload completed or
	// their connection ended); waiting counts the others.
	queue   []*claim
	waiting int
	holders []*claim // the claims held by payloads under way, for checkAssembly
	// checking says that checkAssembly runs: from when a claim begins to
	// wait until one finds none waiting.
	checking bool
}

// claim is a payload under way's share of the assembly budget.
type claim struct {
	p    *peer
	size int64
	// got is the window bytes of the payload read so far: the reader's.
	got atomic.Int64
	// held says that the claim holds its size in the budget: set under
	// assembly.mu, loaded by the reader without it.
	held atomic.Bool

	// Guarded by assembly.mu.
	state claimState
	index int       // in holders, while holding
	mark  int64     // got when last checked
	at    time.Time // when it was last checked, or got its room
}

// claimState is where a claim is: waiting for room, holding it for its
// payload under way, or done with it (the payload completed, and its
// message carries what it held, or its connection ended).
type claimState uint8

const (
	claimWaiting claimState = iota
	claimHolding
	claimDone
)

// newAssembly returns the budget of a node whose largest message is max.
func newAssembly(max int) assembly { return assembly{limit: assemblyMessages * int64(max)} }

// claim returns the claim of p's payload of total bytes, which holds room
// if there is some and nobody waits for it, and else waits; start says
// that it is the first to wait, so that the caller starts checkAssembly.
func (a *assembly) claim(p *peer, total int) (c *claim, start bool) {
	c = &claim{p: p, size: max(int64(total), minClaim)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiting == 0 && a.used+c.size <= a.limit {
		a.hold(c, time.Now())
		return c, false
	}
	a.queue = append(a.queue, c)
	a.waiting++
	start = !a.checking
	a.checking = true
	return c, start
}

// hold makes c hold its room. a.mu must be held.
func (a *assembly) hold(c *claim, now time.Time) {
	a.used += c.size
	c.state, c.index = claimHolding, len(a.holders)
	c.mark, c.at = c.got.Load(), now
	a.holders = append(a.holders, c)
	c.held.Store(true)
}

// done ends c: a waiting claim stops waiting, a holding one leaves holders,
// keeping its room. It returns the room c held, and the claims that got
// room as c made some by leaving the queue. a.mu must be held.
func (a *assembly) done(c *claim) (held int64, granted []*claim) {
	state := c.state
	c.state = claimDone
	switch state {
	case claimHolding:
		last := a.holders[len(a.holders)-1]
		a.holders[c.index], last.index = last, c.index
		a.holders[len(a.holders)-1] = nil
		a.holders = a.holders[:len(a.holders)-1]
		held = c.size
		c.held.Store(false)
	case claimWaiting:
		a.waiting--
		a.compact()
		granted = a.grant()
	}
	return held, granted
}

// complete ends c, whose payload is whole, and returns the room it held,
// which the payload's message carries until it leaves the node (free), and
// the claims that got room meanwhile. If charged, the window holds all of
// the payload (its bytes were not given back early), and its room is
// freed at once.
func (a *assembly) complete(c *claim, charged bool) (held int64, granted []*claim) {
	a.mu.Lock()
	defer a.mu.Unlock()
	held, granted = a.done(c)
	if charged && held > 0 {
		a.used -= held
		held, granted = 0, append(granted, a.grant()...)
	}
	return held, granted
}

// abandon ends c, whose connection ended before its payload was whole,
// frees the room it held, and returns the claims that got room.
func (a *assembly) abandon(c *claim) (granted []*claim) {
	a.mu.Lock()
	defer a.mu.Unlock()
	held, granted := a.done(c)
	if held > 0 {
		a.used -= held
		granted = append(granted, a.grant()...)
	}
	return granted
}

// free gives back n bytes of room that a consumed payload held, and returns
// the claims that got room.
func (a *assembly) free(n int64) (granted []*claim) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used -= n
	return a.grant()
}

// grant gives room to the waiting claims, oldest first, while it lasts,
// and returns them. a.mu must be held.
func (a *assembly) grant() (granted []*claim) {
	now := time.Time{}
	for a.waiting > 0 {
		c := a.queue[0]
		if c.state == claimWaiting && a.used+c.size > a.limit {
			break
		}
		a.queue[0] = nil
		a.queue = a.queue[1:]
		if c.state != claimWaiting {
			continue // stale
		}
		a.waiting--
		if now.IsZero() {
			now = time.Now()
		}
		a.hold(c, now)
		granted = append(granted, c)
	}
	if a.waiting == 0 {
		a.queue = nil
	}
	return granted
}

// compact drops the stale claims from the queue once they are the greater
// part of it, so that payloads that wait and then complete cannot make it
// grow without bound. a.mu must be held.
func (a *assembly) compact() {
	if len(a.queue) < 2*a.waiting+16 {
		return
	}
	q := a.queue[:0]
	for _, c := range a.queue {
		if c.state == claimWaiting {
			q = append(q, c)
		}
	}
	clear(a.queue[len(q):])
	a.queue = q
}

// Held returns the bytes claimed in the budget.
func (a *assembly) Held() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}

// slowClaim is a holder that fell below the floor rate: how much its
// payload gained, over how long.
type slowClaim struct {
	p      *peer
	gained int64
	over   time.Duration
}

// slow returns the holders whose payloads gained less than minAssemblyRate
// over the last grace or more, if claims wait for room; more reports that
// they do, else checkAssembly ends. A holder whose remote's messages wait
// for Inbox is not held to the floor, and is measured afresh from then.
func (a *assembly) slow(now time.Time, grace time.Duration) (slow []slowClaim, more bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiting == 0 {
		a.checking = false
		return nil, false
	}
	for _, c := range a.holders {
		got, over := c.got.Load(), now.Sub(c.at)
		switch {
		case c.p.in.parked.Load() > 0:
		case over < grace:
			continue
		case got-c.mark < int64(over.Seconds()*minAssemblyRate):
			slow = append(slow, slowClaim{c.p, got - c.mark, over})
		}
		c.mark, c.at = got, now
	}
	return slow, true
}

// checkAssembly runs while payloads wait for room in the assembly budget:
// every network timeout, it drops the connections whose payloads under way
// gained less than minAssemblyRate since the last check, which frees their
// claims for those that wait. It ends once none waits, or the node closes.
func (n *Node) checkAssembly() {
	t := time.NewTimer(n.networkTimeout())
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-n.ctx.Done():
			return
		}
		grace := n.networkTimeout()
		slow, more := n.asm.slow(time.Now(), grace)
		for _, s := range slow {
			n.drop(s.p, protocolError{fmt.Errorf("fragmented payload gained %d bytes in %v, under %d bytes a second, while others waited for room",
				s.gained, s.over.Round(time.Millisecond), minAssemblyRate)})
		}
		if !more {
			return
		}
		t.Reset(grace)
	}
}

// granted gives back to the remotes of claims that just got room what their
// payloads held of their windows.
func granted(cs []*claim) {
	for _, c := range cs {
		c.p.claimed(c)
	}
}
