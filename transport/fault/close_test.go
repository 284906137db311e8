package fault_test

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/fault"
)

// shapes are the links the closing tests run over: none, and a slow one
// each way.
var shapes = []struct {
	name string
	link fault.Link
}{
	{"unshaped", fault.Link{}},
	{"shaped", fault.Link{Bandwidth: 4 << 20, Latency: 5 * time.Millisecond}},
}

// forEachShape runs f over every inner transport and shape, with two
// endpoints whose links both ways have that shape.
func forEachShape(t *testing.T, f func(t *testing.T, w *world, a, b *endpoint)) {
	forEachInner(t, func(t *testing.T, w *world) {
		for _, s := range shapes {
			t.Run(s.name, func(t *testing.T) {
				w := &world{t: t, nw: w.nw, inner: w.inner}
				a, b := w.endpoint(), w.endpoint()
				w.nw.Shape(a.name, b.name, s.link)
				w.nw.Shape(b.name, a.name, s.link)
				f(t, w, a, b)
			})
		}
	})
}

// readToEnd reads c to its end in the background.
func readToEnd(c net.Conn) <-chan result {
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(c)
		ch <- result{data: b, err: err, at: time.Now()}
	}()
	return ch
}

// CloseWrite at either end: the other reads what was written, then io.EOF,
// and can still send, which the half-closed end reads.
func TestCloseWriteHalfClosesEitherEnd(t *testing.T) {
	forEachShape(t, func(t *testing.T, w *world, a, b *endpoint) {
		for _, byDialler := range []bool{true, false} {
			from, to := a.dial(b)
			if !byDialler {
				from, to = to, from
			}
			hc, ok := from.(transport.HalfCloser)
			require.True(t, ok, "%T is not a transport.HalfCloser", from)
			msg := payload(100 << 10)
			got := readToEnd(to)
			require.NoError(t, await(t, write(from, msg)).err)
			require.NoError(t, hc.CloseWrite())
			r := await(t, got)
			require.NoError(t, r.err, "read to the end of a half-closed stream")
			require.True(t, bytes.Equal(msg, r.data), "data lost or changed")
			_, err := from.Write([]byte("x"))
			assert.ErrorIs(t, err, syscall.EPIPE, "a Write after CloseWrite")

			reply := payload(1000)
			back := readAll(from, len(reply))
			require.NoError(t, await(t, write(to, reply)).err)
			r = await(t, back)
			require.NoError(t, r.err, "read at the half-closed end")
			assert.True(t, bytes.Equal(reply, r.data))
		}
	})
}

// A black hole holds back the end of a stream as it holds data: neither a
// Close nor a CloseWrite at either end reaches the other while it lasts,
// and both do once it heals.
func TestBlackholeHoldsBackCloseUntilHeal(t *testing.T) {
	ends := []struct {
		name string
		end  func(c net.Conn) error
	}{
		{"Close", net.Conn.Close},
		{"CloseWrite", func(c net.Conn) error { return c.(transport.HalfCloser).CloseWrite() }},
	}
	forEachShape(t, func(t *testing.T, w *world, a, b *endpoint) {
		for _, e := range ends {
			for _, byDialler := range []bool{true, false} {
				d, acc := a.dial(b)
				closer, other := d, acc
				if !byDialler {
					closer, other = acc, d
				}
				flows(t, closer, other)
				w.nw.Blackhole(a.name, b.name)
				got := readToEnd(other)
				require.NoError(t, e.end(closer))
				_, err := closer.Write([]byte("x"))
				assert.Error(t, err, "a Write after %s", e.name)
				pending(t, got)
				w.nw.Heal()
				r := await(t, got)
				assert.NoError(t, r.err, "%s by the dialler %v: the end of the stream after Heal", e.name, byDialler)
				assert.Empty(t, r.data)
			}
		}
	})
}

// A one-way cut holds back the ends of streams that way only: what a node
// that cannot be heard closes stays open at the other, while the other's
// closes reach it. Either node may have dialled.
func TestCutHoldsBackCloseOneWay(t *testing.T) {
	forEachShape(t, func(t *testing.T, w *world, a, b *endpoint) {
		// a's and b's ends of four connections, two dialled by each.
		var atA, atB []net.Conn
		for range 2 {
			ab, ba := a.dial(b)
			bA, aB := b.dial(a)
			atA, atB = append(atA, ab, aB), append(atB, ba, bA)
		}
		w.nw.Cut(a.name, b.name)
		var fromA []<-chan result
		for i := range 2 {
			fromA = append(fromA, readToEnd(atB[i]))
			require.NoError(t, atA[i].Close())
		}
		for i := 2; i < 4; i++ {
			got := readToEnd(atA[i])
			require.NoError(t, atB[i].Close())
			assert.NoError(t, await(t, got).err, "b's close reaches a through a cut from a")
		}
		for _, r := range fromA {
			pending(t, r)
		}
		w.nw.Heal()
		for _, r := range fromA {
			assert.NoError(t, await(t, r).err, "a's close after Heal")
		}
	})
}

// A shaped link whose way out stays black-holed past its linger drops what
// it holds, but not the end of the stream: that still waits for Heal, so
// the far end never reads io.EOF during the fault, however long.
func TestInABubbleCloseWaitsForHealBeyondTheLinger(t *testing.T) {
	inBubble(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: 1 << 20, Latency: 10 * time.Millisecond})
		flows(t, d, acc)
		got := readToEnd(acc)
		_, err := d.Write(payload(100 << 10)) // the link takes it, and holds it
		require.NoError(t, err)
		w.nw.Blackhole(a.name, b.name) // before the bubble's clock moves
		require.NoError(t, d.Close())
		time.Sleep(time.Hour)
		synctest.Wait()
		pending(t, got)
		w.nw.Heal()
		r := <-got
		assert.NoError(t, r.err, "the end of the stream after Heal")
		assert.Empty(t, r.data, "the link gave up on what it held")
	})
}
