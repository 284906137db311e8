package fault_test

import (
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/fault"
)

// unacked returns c's count of bytes the link has not delivered.
func unacked(t *testing.T, c net.Conn) int {
	t.Helper()
	n, err := c.(transport.Unacked).Unacked()
	require.NoError(t, err)
	return n
}

// A writer blocked on a full send buffer wakes only once a third of it has
// drained, as on Linux, while Unacked falls the whole time.
func TestInABubbleABlockedWriterWakesOnceAThirdHasDrained(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, size = 100 << 10, 300 << 10 // a third is a second's worth
		l := fault.Link{Bandwidth: rate, Latency: 10 * time.Millisecond, SendBuffer: size}
		w.nw.Shape(a.name, b.name, l)
		got := readAll(acc, size+1)
		start := time.Now()
		_, err := d.Write(payload(size))
		require.NoError(t, err)
		assert.Zero(t, time.Since(start), "a Write that fits returns at once")
		assert.Equal(t, size, unacked(t, d))

		wrote := write(d, []byte("x"))
		last := size
		for range 9 {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			select {
			case r := <-wrote:
				require.FailNow(t, "the Write woke early", "at %v: %v", time.Since(start), r.err)
			default:
			}
			now := unacked(t, d)
			assert.Less(t, now, last, "Unacked stood still at %v", time.Since(start))
			last = now
		}
		require.NoError(t, (<-wrote).err)
		third := time.Duration(size/3)*time.Second/rate + l.Latency
		woke := time.Since(start)
		assert.GreaterOrEqual(t, woke, third, "woke before a third drained")
		assert.Less(t, woke, third+2*time.Millisecond, "woke well after a third drained")
		assert.InDelta(t, size-size/3, unacked(t, d), float64(rate/1000), "a third drained")
		require.NoError(t, (<-got).err)
	})
}

// So a Write whose deadline is shorter than a third of the send buffer's
// time on the link times out with nothing written although the link moves
// bytes the whole time, as on Linux behind a slow link; Unacked shows the
// progress. A Write after it copies into the room there is at once.
func TestInABubbleAWriteTimesOutWhileTheLinkMoves(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, size = 100 << 10, 300 << 10
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: rate, Latency: 10 * time.Millisecond, SendBuffer: size})
		got := readAll(acc, size+1)
		_, err := d.Write(payload(size))
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, d.SetWriteDeadline(start.Add(500*time.Millisecond)))
		n, err := d.Write([]byte("x"))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Zero(t, n)
		assert.Less(t, unacked(t, d), size-40<<10, "Unacked fell while the writer waited")
		_, err = d.Write([]byte("y"))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "the deadline passed")
		require.NoError(t, d.SetWriteDeadline(time.Time{}))
		_, err = d.Write([]byte("z"))
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond, time.Since(start), "a new Write waits for no third")
		r := <-got
		require.NoError(t, r.err)
		assert.Equal(t, "z", string(r.data[size:]))
	})
}

// With a not-sent low-water mark, a bulk Write returns once little of it
// waits to leave, so a small write after it, such as a goodbye, waits
// behind that little, not behind the bulk.
func TestInABubbleNotSentLowatKeepsLittleWaitingToLeave(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, size, lowat = 100 << 10, 200 << 10, 16 << 10
		l := fault.Link{Bandwidth: rate, Latency: 10 * time.Millisecond, SendBuffer: 4 << 20, NotSentLowat: lowat}
		w.nw.Shape(a.name, b.name, l)
		got := readAll(acc, size+len("goodbye"))
		start := time.Now()
		_, err := d.Write(payload(size))
		require.NoError(t, err)
		returned := time.Since(start)
		assert.Greater(t, returned, time.Duration(size-lowat)*time.Second/rate, "returned with more than the mark waiting")
		onTheWay := int(rate*l.Latency/time.Second) + rate/1000 // one latency and one slice
		assert.LessOrEqual(t, unacked(t, d), lowat+onTheWay, "more than the mark and what is on the way")

		_, err = d.Write([]byte("goodbye"))
		require.NoError(t, err)
		r := <-got
		require.NoError(t, r.err)
		assert.Equal(t, "goodbye", string(r.data[size:]))
		behind := r.at.Sub(start) - returned
		assert.Less(t, behind, time.Duration(lowat+onTheWay)*time.Second/rate+l.Latency,
			"the goodbye waited behind more than the mark")
		synctest.Wait()
	})
}
