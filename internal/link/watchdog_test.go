package link

import (
	"crypto/tls"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fragileConn is a kernelConn that a passed write deadline breaks for good,
// as it does a tls.Conn, and that counts the deadlines set on it.
type fragileConn struct {
	*kernelConn
	broken    bool // the writer's
	deadlines int  // under kernelConn.mu
}

func (c *fragileConn) ConnectionState() tls.ConnectionState { return tls.ConnectionState{} }

func (c *fragileConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines++
	c.mu.Unlock()
	return c.kernelConn.SetWriteDeadline(t)
}

func (c *fragileConn) Write(b []byte) (int, error) {
	if c.broken {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.kernelConn.Write(b)
	c.broken = err != nil
	return n, err
}

func TestWatchdogKeepsALinkThatMovesBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 400 * time.Millisecond
		// As for writeLink: each write waits 600 ms for room, longer
		// than the timeout, while the network takes bytes throughout.
		c := &fragileConn{kernelConn: &kernelConn{capacity: 900 << 10, perTick: 500, queued: 900 << 10}}
		stop := make(chan struct{})
		defer close(stop)
		go c.drain(stop)
		w := newWatchdog(c)
		defer w.stop()
		start := time.Now()
		require.NoError(t, w.write(make([]byte, 64<<10), timeout))
		assert.Greater(t, time.Since(start), timeout, "the write waited past the timeout")
		for range 3 {
			require.NoError(t, w.write(make([]byte, 64<<10), timeout))
		}
	})
}

func TestWatchdogLetsTheDeadlinePassOnALinkThatTakesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 400 * time.Millisecond
		c := &fragileConn{kernelConn: &kernelConn{capacity: 900 << 10, perTick: 500, queued: 900 << 10}}
		stop := make(chan struct{})
		go c.drain(stop)
		w := newWatchdog(c)
		defer w.stop()
		require.NoError(t, w.write(make([]byte, 64<<10), timeout), "the network takes bytes")
		close(stop) // and now none
		time.Sleep(time.Second)
		start := time.Now()
		err := w.write(make([]byte, 300<<10), timeout)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		elapsed := time.Since(start)
		assert.GreaterOrEqual(t, elapsed, timeout)
		assert.LessOrEqual(t, elapsed, timeout*3/2, "stalled is found within one and a half timeouts")
	})
}

func TestWatchdogCostsNoTimerOrDeadlinePerWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 400 * time.Millisecond
		c := &fragileConn{kernelConn: &kernelConn{capacity: 1 << 30}}
		w := newWatchdog(c)
		require.NoError(t, w.write([]byte("x"), timeout))
		timer := w.t
		require.NotNil(t, timer, "a connection with a count has a timer")
		// A write each millisecond for two seconds: the deadline moves
		// once per half timeout of writing, not per write.
		for range 2000 {
			time.Sleep(time.Millisecond)
			require.NoError(t, w.write([]byte("x"), timeout))
		}
		c.mu.Lock()
		deadlines := c.deadlines
		c.mu.Unlock()
		assert.LessOrEqual(t, deadlines, 12, "deadlines set over 2001 writes")
		assert.Same(t, timer, w.t, "one timer for the link")

		// Idle, the timer stops at its next look; stop waits for it.
		time.Sleep(timeout)
		assert.False(t, w.ticking.Load(), "an idle link's timer stops")
		w.stop()
		require.NoError(t, w.write([]byte("x"), timeout), "a write after stop still has its deadline")
		assert.False(t, w.ticking.Load(), "a stopped watchdog's timer never starts again")
	})
}
