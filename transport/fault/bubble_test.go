package fault_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
)

// These tests run a fault network over transport/mem inside synctest
// bubbles: every wait of both is durable, so the bubble's clock jumps
// ahead whenever all goroutines wait, and times come out exact.

// inBubble runs f in a synctest bubble with a new fault network over a new
// in-memory network, both made inside the bubble. Once f returns, it closes
// what f opened and lets the links deliver what they still hold, so that
// their goroutines end before the bubble does.
func inBubble(t *testing.T, f func(t *testing.T, w *world)) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		var closers []func()
		f(t, &world{t: t, nw: fault.NewNetwork(), inner: func() cluster.Transport { return nw }, closers: &closers})
		for _, c := range closers {
			c()
		}
		time.Sleep(time.Minute)
	})
}

// Writers at once on one end, each more than the link holds, take turns:
// each write's bytes arrive together, and the link is never idle, so the
// whole takes the link's time to the nanosecond's rounding.
func TestInABubbleConcurrentWritersShareAShapedLink(t *testing.T) {
	for _, shaped := range []bool{false, true} {
		t.Run(map[bool]string{false: "unshaped", true: "shaped"}[shaped], func(t *testing.T) {
			inBubble(t, func(t *testing.T, w *world) {
				a, b := w.endpoint(), w.endpoint()
				d, acc := a.dial(b)
				const writers, size, rate, latency = 8, 200 << 10, 1 << 20, 20 * time.Millisecond
				if shaped {
					w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: rate, Latency: latency})
				}
				got := readAll(acc, writers*size)
				start := time.Now()
				var wg sync.WaitGroup
				for i := range writers {
					wg.Go(func() {
						n, err := d.Write(bytes.Repeat([]byte{byte(i)}, size))
						assert.NoError(t, err)
						assert.Equal(t, size, n)
					})
				}
				r := <-got
				wg.Wait()
				require.NoError(t, r.err)
				for off := 0; off < len(r.data); off += size {
					require.Equal(t, bytes.Repeat(r.data[off:off+1], size), r.data[off:off+size], "writes interleaved")
				}
				took := r.at.Sub(start)
				if !shaped {
					assert.Zero(t, took, "an unshaped link takes no time")
					return
				}
				least := time.Duration(writers*size)*time.Second/rate + latency
				assert.GreaterOrEqual(t, took, least)
				assert.Less(t, took, least+10*time.Millisecond, "the link stood idle")
			})
		})
	}
}

// Deadlines fire inside a black hole at their time on the bubble's clock,
// set before a call or while it waits, and Close ends the calls waiting.
func TestInABubbleDeadlinesAndCloseEndCallsInABlackhole(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, _ := a.dial(b)
		w.nw.Blackhole(a.name, b.name)
		start := time.Now()
		require.NoError(t, d.SetWriteDeadline(start.Add(time.Minute)))
		_, err := d.Write([]byte("x"))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Minute, time.Since(start))

		require.NoError(t, d.SetDeadline(time.Time{}))
		// Two reads at once: the second waits for the first's turn.
		read, read2, wrote := readAll(d, 1), readAll(d, 1), write(d, []byte("y"))
		time.Sleep(time.Hour)
		synctest.Wait()
		pending(t, read)
		pending(t, read2)
		pending(t, wrote)
		start = time.Now()
		require.NoError(t, d.SetReadDeadline(start.Add(time.Second)))
		assert.ErrorIs(t, (<-read).err, os.ErrDeadlineExceeded)
		assert.ErrorIs(t, (<-read2).err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, d.Close())
		assert.ErrorIs(t, (<-wrote).err, net.ErrClosed)
	})
}

// A dial into a black hole waits until its context ends, on the bubble's
// clock, or until Heal.
func TestInABubbleDialsWaitForTheirContext(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		w.nw.Blackhole(a.name, b.name)
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := a.tr.Dial(ctx, b.name)
		assert.ErrorIs(t, err, fault.ErrUnreachable)
		assert.Equal(t, 10*time.Second, time.Since(start))

		dialled := make(chan error, 1)
		go func() {
			c, err := a.tr.Dial(t.Context(), b.name)
			if err == nil {
				c.Close()
			}
			dialled <- err
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case err := <-dialled:
			t.Fatalf("a dial went through a black hole: %v", err)
		default:
		}
		w.nw.Heal()
		require.NoError(t, <-dialled)
	})
}

// A shaped transfer takes exactly its time on the bubble's clock: the
// bandwidth's share and one latency, whichever end reads or writes.
func TestInABubbleTransferTakesTheLinksTime(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, latency, size = 4 << 20, 50 * time.Millisecond, 2 << 20
		l := fault.Link{Bandwidth: rate, Latency: latency}
		w.nw.Shape(a.name, b.name, l)
		w.nw.Shape(b.name, a.name, l)
		least := time.Duration(size)*time.Second/rate + latency
		for _, p := range [][2]net.Conn{{d, acc}, {acc, d}} {
			took := transfer(t, p[0], p[1], payload(size))
			assert.GreaterOrEqual(t, took, least, "faster than the link")
			assert.Less(t, took, least+5*time.Millisecond, "slower than the link")
		}
	})
}

// Closing ends the stream after what the link holds, in a bubble too.
func TestInABubbleCloseDeliversWhatTheLinkHolds(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: 1 << 20, Latency: 10 * time.Millisecond})
		msg := payload(100 << 10)
		start := time.Now()
		_, err := d.Write(msg)
		require.NoError(t, err)
		require.NoError(t, d.Close())
		got, err := io.ReadAll(acc)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(msg, got), "data lost or changed")
		assert.GreaterOrEqual(t, time.Since(start), time.Duration(len(msg))*time.Second/(1<<20)+10*time.Millisecond)
	})
}

// Unacked counts what the dialler wrote that the link has not delivered:
// on a shaped way out, until it arrives; on an unshaped one, the inner
// connection's count (transport/mem's: until the acceptor reads it).
func TestInABubbleUnackedCountsWhatTheLinkHasNotDelivered(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b, c := w.endpoint(), w.endpoint(), w.endpoint()
		ab, _ := a.dial(b)
		ac, ca := a.dial(c)
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: 1 << 20, Latency: 50 * time.Millisecond})
		unacked := func(c net.Conn) int {
			t.Helper()
			n, err := c.(transport.Unacked).Unacked()
			require.NoError(t, err)
			return n
		}
		_, err := ab.Write(payload(10 << 10))
		require.NoError(t, err)
		assert.Equal(t, 10<<10, unacked(ab), "nothing left yet")
		time.Sleep(50 * time.Millisecond)
		assert.Equal(t, 10<<10, unacked(ab), "on the way")
		time.Sleep(10 * time.Millisecond)
		assert.Zero(t, unacked(ab), "arrived 10 ms of the link's time and a latency later")

		_, err = ac.Write(payload(1000))
		require.NoError(t, err)
		assert.Equal(t, 1000, unacked(ac))
		_, err = io.ReadFull(ca, make([]byte, 1000))
		require.NoError(t, err)
		assert.Zero(t, unacked(ac))
	})
}
