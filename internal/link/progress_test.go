package link

import (
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kernelConn is a connection whose writes go into a kernel-like send queue
// that the network drains at a steady rate, and which, as Linux does, wakes
// a writer blocked on a full queue only once a third of it has drained.
type kernelConn struct {
	net.Conn // unused methods
	capacity int
	perTick  int // bytes the network takes each millisecond

	mu       sync.Mutex
	queued   int
	deadline time.Time
}

func (c *kernelConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *kernelConn) Unacked() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued, nil
}

// Write queues b whole, waiting while the queue is above two thirds full.
func (c *kernelConn) Write(b []byte) (int, error) {
	for {
		c.mu.Lock()
		room := c.queued <= c.capacity*2/3
		if room {
			c.queued += len(b)
		}
		late := !c.deadline.IsZero() && !time.Now().Before(c.deadline)
		c.mu.Unlock()
		if room {
			return len(b), nil
		}
		if late {
			return 0, os.ErrDeadlineExceeded
		}
		time.Sleep(time.Millisecond)
	}
}

// drain takes perTick bytes off the queue every millisecond until stop is
// closed.
func (c *kernelConn) drain(stop <-chan struct{}) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.mu.Lock()
			c.queued = max(0, c.queued-c.perTick)
			c.mu.Unlock()
		}
	}
}

func TestWriteLinkKeepsALinkThatMovesBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 400 * time.Millisecond
		// 900 KiB of room at 500 KiB/s: a blocked writer waits 600 ms
		// for its wake-up, longer than the timeout.
		c := &kernelConn{capacity: 900 << 10, perTick: 500, queued: 900 << 10}
		stop := make(chan struct{})
		defer close(stop)
		go c.drain(stop)
		start := time.Now()
		for range 4 {
			require.NoError(t, writeLink(c, make([]byte, 64<<10), timeout))
		}
		assert.Greater(t, time.Since(start), timeout, "a write waited past the timeout")
	})
}

func TestWriteLinkDropsALinkThatTakesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 400 * time.Millisecond
		c := &kernelConn{capacity: 900 << 10, queued: 900 << 10}
		start := time.Now()
		err := writeLink(c, make([]byte, 64<<10), timeout)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		elapsed := time.Since(start)
		assert.GreaterOrEqual(t, elapsed, timeout)
		assert.LessOrEqual(t, elapsed, timeout*3/2, "stalled is found within one and a half timeouts")
	})
}

// writeOnlyConn takes takes[i] bytes of its i-th write when its deadline
// passes, and times out: a connection with no Unacked, judged by its writes.
type writeOnlyConn struct {
	net.Conn
	takes    []int
	calls    int
	deadline time.Time
}

func (c *writeOnlyConn) SetWriteDeadline(t time.Time) error {
	c.deadline = t
	return nil
}

func (c *writeOnlyConn) Write(b []byte) (int, error) {
	time.Sleep(time.Until(c.deadline))
	n := min(len(b), c.takes[c.calls])
	c.calls++
	return n, os.ErrDeadlineExceeded
}

func TestWriteLinkWithoutUnackedGoesOnWhileWritesProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each write waits half a timeout: the link is stalled once two
		// in a row took nothing.
		c := &writeOnlyConn{takes: []int{10, 0, 10, 0, 0}}
		err := writeLink(c, make([]byte, 25), time.Second)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the fourth and fifth writes took nothing")
		assert.Equal(t, 5, c.calls)

		c = &writeOnlyConn{takes: []int{10, 10, 10}}
		require.NoError(t, writeLink(c, make([]byte, 25), time.Second), "partial writes that end the payload")
	})
}

// brokenConn fails every write at once with a timeout, as a tls.Conn does
// after one, while its unacknowledged bytes keep falling.
type brokenConn struct {
	net.Conn
	calls, unacked int
}

func (c *brokenConn) SetWriteDeadline(time.Time) error { return nil }

func (c *brokenConn) Write([]byte) (int, error) {
	c.calls++
	return 0, os.ErrDeadlineExceeded
}

func (c *brokenConn) Unacked() (int, error) {
	c.unacked--
	return c.unacked, nil
}

func TestWriteLinkGivesUpOnAConnectionThatCannotWriteAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &brokenConn{unacked: 1 << 20}
		require.ErrorIs(t, writeLink(c, []byte("x"), time.Second), os.ErrDeadlineExceeded)
		assert.Equal(t, 1, c.calls, "no spin on a timeout that is not the deadline's")
	})
}
