// Package bench holds the workloads that the cluster package's benchmarks and
// cmd/peerweave-bench measure, and the raw TCP and quic-go loops they are
// compared with, so that both tools measure the same thing in the same way.
//
// A Stream carries payloads one way: Send hands one over, Drain returns once
// the far end has read everything sent. An Echo carries a payload there and
// back. Count, For and Latencies drive them.
package bench

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Stream carries payloads one way, from the sender to a receiver that reads
// and counts them. It is driven by one goroutine.
type Stream interface {
	// Send hands one payload to the sender; it may buffer it.
	Send(payload []byte) error
	// Drain pushes out what Send buffered and returns once the receiver
	// has read every payload sent so far.
	Drain() error
	// Close stops both ends and waits for their goroutines. It is safe to
	// call more than once, and from another goroutine to abort a run.
	Close() error
}

// Echo carries a payload to a far end that sends it straight back.
type Echo interface {
	// RoundTrip sends payload and returns once it has come back.
	RoundTrip(payload []byte) error
	// Close stops both ends and waits for their goroutines. It is safe to
	// call more than once, and from another goroutine to abort a run.
	Close() error
}

// ErrStalled reports a receiver that read nothing for StallTimeout while
// payloads were outstanding: something lost them.
var ErrStalled = errors.New("bench: receiver stalled")

// StallTimeout is how long Drain waits for a receiver that makes no progress.
const StallTimeout = 30 * time.Second

// counter is a receiver's tally, which the sender waits on.
type counter struct {
	msgs, bytes atomic.Int64
	target      atomic.Int64  // msgs count at which reached is signalled
	reached     chan struct{} // capacity 1
	dead        chan struct{} // closed when the receiver stops
	err         error         // why it stopped; set before dead closes
}

func newCounter() *counter {
	return &counter{reached: make(chan struct{}, 1), dead: make(chan struct{})}
}

// add counts one payload of n bytes. Only the receiver calls it.
func (c *counter) add(n int) {
	c.bytes.Add(int64(n))
	if c.msgs.Add(1) == c.target.Load() {
		select {
		case c.reached <- struct{}{}:
		default:
		}
	}
}

// stop records that the receiver ended, for err.
func (c *counter) stop(err error) {
	c.err = err
	close(c.dead)
}

// await waits until the receiver has counted msgs payloads, and checks that
// they held bytes bytes in all.
func (c *counter) await(msgs, bytes int64) error {
	c.target.Store(msgs)
	tick := time.NewTicker(StallTimeout / 10)
	defer tick.Stop()
	last, since := c.msgs.Load(), time.Now()
	for {
		got := c.msgs.Load()
		if got >= msgs {
			break
		}
		if got != last {
			last, since = got, time.Now()
		}
		if time.Since(since) > StallTimeout {
			return fmt.Errorf("%w: read %d of %d payloads", ErrStalled, got, msgs)
		}
		select {
		case <-c.reached:
		case <-tick.C:
		case <-c.dead:
			if c.msgs.Load() < msgs {
				return fmt.Errorf("bench: receiver stopped after %d of %d payloads: %w", c.msgs.Load(), msgs, c.err)
			}
		}
	}
	if got := c.bytes.Load(); got != bytes {
		return fmt.Errorf("bench: receiver read %d payload bytes, %d were sent", got, bytes)
	}
	return nil
}
