package cluster

import (
	"errors"
	"net"
	"time"
)

// acceptLoop accepts connections until the listener closes, and passes
// each through the gate (gate.go), whose sweeper it starts.
func (n *Node) acceptLoop() {
	defer n.wg.Done()
	n.wg.Go(n.sweepGate)
	var backoff time.Duration
	for {
		conn, err := n.ln.Accept()
		if err != nil {
			if n.closing() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			n.emit(Event{Kind: EventAcceptFailed, Err: err, Wait: backoff})
			select {
			case <-time.After(backoff):
			case <-n.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		n.emit(Event{Kind: EventAccepted, From: conn.RemoteAddr()})
		n.admitStranger(conn)
	}
}

// healthLoop pings every remote each healthy interval, and sends one of them
// its peer list (gossip). A remote that answers
// nothing for the healthy interval plus the network timeout is dropped by its
// reader; one that cannot be written to, by its writer.
func (n *Node) healthLoop() {
	defer n.wg.Done()
	n.every(&n.healthy, n.retuneHealth, func() {
		n.remotes.each(func(p *peer) { p.ping() })
		n.gossip()
	})
}

// reconnectLoop redials, each reconnect interval, the remotes lost
// ungracefully, until they come back or leave gracefully, through the dial
// pool and with its backoff (dialpool.go).
func (n *Node) reconnectLoop() {
	defer n.wg.Done()
	n.every(&n.reconnect, n.retuneReconnect, func() {
		n.queueRedials()
	})
}

// queueRedials queues a redial of every address of the reconnect set whose
// backoff has passed and that no dial is under way to, one address under
// each hold of the node lock.
func (n *Node) queueRedials() {
	for range n.redialTick() {
		spawn, more := n.redialNext()
		if spawn {
			n.spawnDialer(true)
		}
		if !more {
			return
		}
	}
}

// every runs f each interval read from d until the node closes, restarting
// the wait when retune fires.
func (n *Node) every(d interface{ Load() int64 }, retune <-chan struct{}, f func()) {
	t := time.NewTimer(time.Duration(d.Load()))
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-retune:
		case <-t.C:
			f()
		}
		t.Reset(time.Duration(d.Load()))
	}
}
