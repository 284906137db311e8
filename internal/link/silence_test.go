package link

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/internal/wire"
)

// silentLink returns a reading link whose remote may stay silent for the
// duration in limit, which the test may change.
func silentLink(t *testing.T, limit *atomic.Int64) (*Link, *recorder, func(wire.Kind)) {
	t.Helper()
	l, r, remote := newLink(t, nil, wire.InitialWindow)
	l.cfg.Silence = func() time.Duration { return time.Duration(limit.Load()) }
	reading(t, l)
	send := func(k wire.Kind) { write(t, remote, raw(nil, k, nil)) }
	return l, r, send
}

// waitClosed returns when the link under r ended and why.
func waitClosed(t *testing.T, r *recorder) (time.Time, error) {
	t.Helper()
	select {
	case err := <-r.closed:
		return time.Now(), err
	case <-time.After(time.Hour):
		t.Fatal("the link never ended")
		return time.Time{}, nil
	}
}

func TestSilentRemoteIsDroppedAtTheSilenceLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var limit atomic.Int64
		limit.Store(int64(time.Second))
		_, r, send := silentLink(t, &limit)
		time.Sleep(300 * time.Millisecond)
		send(wire.KindPong)
		synctest.Wait() // the reader waits for the next frame
		last := time.Now()
		at, err := waitClosed(t, r)
		assert.True(t, IsTimeout(err), "a timeout: %v", err)
		assert.Equal(t, time.Second, at.Sub(last), "dropped a silence limit after the last frame")
	})
}

func TestDeadlineThatPassesAfterRecentReadsKeepsTheLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var limit atomic.Int64
		limit.Store(int64(time.Second))
		_, r, send := silentLink(t, &limit)
		// A frame every 700 ms for 10 s: the deadline armed by one read
		// passes during a later one, ten times over.
		for range 15 {
			time.Sleep(700 * time.Millisecond)
			send(wire.KindPong)
			synctest.Wait()
			select {
			case err := <-r.closed:
				t.Fatalf("a remote that keeps talking was dropped: %v", err)
			default:
			}
		}
		last := time.Now()
		at, err := waitClosed(t, r)
		assert.True(t, IsTimeout(err), "a timeout: %v", err)
		assert.Equal(t, time.Second, at.Sub(last), "dropped a silence limit after the last frame")
	})
}

func TestShorterSilenceLimitHoldsFromTheNextRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var limit atomic.Int64
		limit.Store(int64(time.Hour))
		_, r, send := silentLink(t, &limit)
		send(wire.KindPong)
		synctest.Wait() // the reader armed its deadline an hour ahead
		limit.Store(int64(time.Second))
		send(wire.KindPong)
		synctest.Wait()
		last := time.Now()
		at, err := waitClosed(t, r)
		assert.True(t, IsTimeout(err), "a timeout: %v", err)
		assert.Equal(t, time.Second, at.Sub(last))
	})
}

// slowHandler is a node that takes a while over each payload.
type slowHandler struct {
	*recorder
	busy time.Duration
}

func (h slowHandler) Payload(b []byte, t Tag, owned bool, charge int) error {
	time.Sleep(h.busy)
	return h.recorder.Payload(b, t, owned, charge)
}

func TestTimeTheReaderSpendsAboveIsNotSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		l.cfg.Silence = func() time.Duration { return time.Second }
		l.h = slowHandler{r, 3 * time.Second}
		reading(t, l)
		// The second payload waits in the connection while the node
		// takes three silence limits over the first; the deadline armed
		// before passes meanwhile.
		start := time.Now()
		write(t, remote, raw(nil, wire.KindData, []byte("one")))
		synctest.Wait()
		write(t, remote, raw(nil, wire.KindData, []byte("two")))
		time.Sleep(6500 * time.Millisecond) // the first handled from 0 to 3 s, the second from 3 to 6 s
		select {
		case err := <-r.closed:
			t.Fatalf("dropped while the node was busy: %v", err)
		default:
		}
		r.mu.Lock()
		handled := len(r.payloads)
		r.mu.Unlock()
		require.Equal(t, 2, handled)
		at, err := waitClosed(t, r)
		assert.True(t, IsTimeout(err), "a timeout: %v", err)
		assert.Equal(t, 7*time.Second, at.Sub(start), "a silence limit after the reader waited again")
	})
}
