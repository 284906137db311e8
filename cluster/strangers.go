package cluster

import (
	"fmt"
	"net"
	"time"
)

// How the node serves strangers through its gate (gate.go): their
// handshake timeout, what the gate turns away and why, and the sweeper
// that closes connections that waited too long.

// The handshake timeout: a connection must get from its first byte to its
// verdict within minHandshakeTime plus the time that the largest hello
// (tagsFrameLimit) takes at slowLink, or the network timeout if that is
// shorter. A stranger holds a slot of the gate for that long at most.
const (
	minHandshakeTime = 2 * time.Second
	slowLink         = 512 << 10 // bytes a second: 4 Mbit/s
)

// handshakeTimeout is how long a stranger's connection may take to reach
// its verdict, and wait for a slot of the gate before that.
func (n *Node) handshakeTimeout() time.Duration {
	d := minHandshakeTime + time.Duration(n.tagsFrameLimit())*time.Second/slowLink
	return min(d, n.networkTimeout())
}

// busyError is ErrBusy's type: a refusal, matching ErrRejected.
type busyError struct{}

func (busyError) Error() string        { return "cluster: too many handshakes" }
func (busyError) Is(target error) bool { return target == ErrRejected }

// errWaitedTooLong is the cause of a waiting connection closed after the
// handshake timeout: it matches ErrBusy and ErrTimeout.
var errWaitedTooLong = fmt.Errorf("%w: waited the handshake timeout for a slot: %w", ErrBusy, ErrTimeout)

// errQueueFull is the cause of a connection closed because the queue was
// full of others' connections, or of its source's.
var errQueueFull = fmt.Errorf("%w: %d connections wait for a handshake", ErrBusy, maxWaiting)

// admitStranger passes conn, just accepted, through the gate: it serves
// conn on a goroutine of its own if a slot is free, leaves it waiting, or
// closes it.
func (n *Node) admitStranger(conn net.Conn) {
	start, closed := n.gate.enter(conn, time.Now(), n.handshakeTimeout())
	switch {
	case start:
		n.wg.Go(func() { n.serve(conn) })
	case closed == nil: // it waits
	case n.closing():
		closed.Close() // the node is closing: nothing was turned away
	default:
		n.turnAway(closed, errQueueFull)
	}
}

// leaveGate frees the slot that conn's handshake held, at its verdict, and
// starts the handshake of the connection that takes it.
func (n *Node) leaveGate(conn net.Conn) {
	next, expired := n.gate.leave(conn, time.Now())
	for _, c := range expired {
		n.turnAway(c, errWaitedTooLong)
	}
	if next != nil {
		n.wg.Go(func() { n.serve(next) })
	}
}

// turnAway closes conn, which the gate did not serve, for err, and warns,
// once a minute at most, that the node is turning connections away: under
// a crowd of strangers, or a crowd of honest peers larger than the gate.
func (n *Node) turnAway(conn net.Conn, err error) {
	conn.Close()
	if count, warn := n.gate.turnAway(time.Now()); warn {
		n.log.Warn("too many handshakes: closing connections before their handshake",
			"from", conn.RemoteAddr().String(), "closed", count, "err", err)
	}
	n.emit(Event{Kind: EventHandshakeFailed, From: conn.RemoteAddr(), Err: err})
}

// sweepGate closes the connections that waited for a slot of the gate for
// the handshake timeout, and at Close every one still waiting. It checks
// at most 8 times a handshake timeout, so that a crowd waiting costs
// little to sweep.
func (n *Node) sweepGate() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			t.Stop()
			for _, c := range n.gate.close() {
				c.Close()
			}
			return
		case <-n.gate.wake:
		case <-t.C:
		}
		now := time.Now()
		expired, next := n.gate.expire(now)
		for _, c := range expired {
			n.turnAway(c, errWaitedTooLong)
		}
		if !next.IsZero() {
			t.Reset(max(next.Sub(now), n.handshakeTimeout()/8))
		}
	}
}

// strangerCost bounds what a stranger's connection costs the node in its
// handshake, besides what it sent: a goroutine's stack, a read buffer, a
// decoder, and with a secret TLS's state. The package doc says about 40
// KiB with a secret; this leaves a margin for the granularity of stacks
// and the heap's.
const strangerCost = 64 << 10

// waiterCost is about what a connection waiting for a slot of the gate
// costs: the state of its descriptor, and its place in the queue.
const waiterCost = 1 << 10
