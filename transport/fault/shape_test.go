package fault_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/transporttest"
)

// TestConformanceShaped checks that a network whose every link is shaped
// is still a transport, over sockets and over pipes.
func TestConformanceShaped(t *testing.T) {
	for _, in := range inners {
		t.Run(in.name, func(t *testing.T) {
			fn := fault.NewNetwork()
			fn.ShapeAll(fault.Link{Bandwidth: 64 << 20, Latency: 2 * time.Millisecond})
			inner := in.new()
			transporttest.Run(t, func(*testing.T) cluster.Transport { return fn.Wrap(inner()) })
		})
	}
}

// overEachWay runs f on a new connection, once shaping what its dialler
// writes (the link paces the writes) and once what it reads (the link
// paces the reads): shape shapes the way from from to to.
func overEachWay(t *testing.T, w *world, f func(t *testing.T, from, to net.Conn, shape func(fault.Link))) {
	for _, fromDialler := range []bool{true, false} {
		name := map[bool]string{true: "from dialler", false: "to dialler"}[fromDialler]
		t.Run(name, func(t *testing.T) {
			w := &world{t: t, nw: w.nw, inner: w.inner}
			a, b := w.endpoint(), w.endpoint()
			d, acc := a.dial(b)
			if fromDialler {
				f(t, d, acc, func(l fault.Link) { w.nw.Shape(a.name, b.name, l) })
			} else {
				f(t, acc, d, func(l fault.Link) { w.nw.Shape(b.name, a.name, l) })
			}
		})
	}
}

// transfer sends msg from from to to and returns how long it took until
// the last byte was read.
func transfer(t *testing.T, from, to net.Conn, msg []byte) time.Duration {
	t.Helper()
	got := readAll(to, len(msg))
	start := time.Now()
	wrote := write(from, msg)
	r := await(t, got)
	require.NoError(t, r.err)
	require.True(t, bytes.Equal(msg, r.data), "data changed on the way")
	require.NoError(t, await(t, wrote).err)
	return r.at.Sub(start)
}

func TestTransferTakesBandwidthAndLatency(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		overEachWay(t, w, func(t *testing.T, from, to net.Conn, shape func(fault.Link)) {
			const rate, latency, size = 4 << 20, 50 * time.Millisecond, 2 << 20
			shape(fault.Link{Bandwidth: rate, Latency: latency})
			least := time.Duration(size)*time.Second/rate + latency
			took := transfer(t, from, to, payload(size))
			assert.GreaterOrEqual(t, took, least, "faster than the link")
			assert.Less(t, took, 4*least, "far slower than the link")
		})
	})
}

func TestLatencyDelaysASmallWrite(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		overEachWay(t, w, func(t *testing.T, from, to net.Conn, shape func(fault.Link)) {
			const latency = 100 * time.Millisecond
			shape(fault.Link{Bandwidth: 1 << 20, Latency: latency})
			for range 3 {
				took := transfer(t, from, to, payload(100))
				assert.GreaterOrEqual(t, took, latency, "arrived early")
				assert.Less(t, took, latency+time.Second, "arrived far too late")
			}
		})
	})
}

// A stream of small writes over a link with a long latency takes about
// one latency, not one per write: a write is done once the link took it.
func TestSmallWritesArePipelined(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		overEachWay(t, w, func(t *testing.T, from, to net.Conn, shape func(fault.Link)) {
			const latency, writes, size = 100 * time.Millisecond, 200, 100
			shape(fault.Link{Bandwidth: 1 << 20, Latency: latency})
			msg := payload(writes * size)
			got := readAll(to, len(msg))
			start := time.Now()
			for i := range writes {
				_, err := from.Write(msg[i*size : (i+1)*size])
				require.NoError(t, err)
			}
			r := await(t, got)
			require.NoError(t, r.err)
			require.True(t, bytes.Equal(msg, r.data), "data changed on the way")
			took := r.at.Sub(start)
			assert.GreaterOrEqual(t, took, latency)
			assert.Less(t, took, writes*latency/4, "writes waited for each other's latency")
		})
	})
}

func TestShapingOneWayLeavesTheOtherAlone(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		ab, ba := a.dial(b) // dialled by a
		bA, aB := b.dial(a) // dialled by b
		w.nw.Shape(a.name, b.name, fault.Link{Latency: time.Hour})
		t.Cleanup(func() { w.nw.ShapeAll(fault.Link{}) }) // lets the closing links drain

		// What a sends takes an hour on either connection...
		stalls(t, ab, ba, []byte("x"))
		stalls(t, aB, bA, []byte("x"))
		// ...while what b sends does not.
		flows(t, ba, ab)
		flows(t, bA, aB)
	})
}

// A shape reaches connections already in use, including a read already
// waiting for data, and a new shape reaches the bytes on their way.
func TestShapesApplyToOpenConnections(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		flows(t, d, acc)
		flows(t, acc, d)

		const latency = 100 * time.Millisecond
		waiting := readAll(d, 4)
		w.nw.ShapeAll(fault.Link{Latency: latency})
		start := time.Now()
		require.NoError(t, await(t, write(acc, []byte("late"))).err)
		r := await(t, waiting)
		require.NoError(t, r.err)
		assert.Equal(t, "late", string(r.data))
		assert.GreaterOrEqual(t, r.at.Sub(start), latency, "the waiting read missed the shape")
		assert.GreaterOrEqual(t, transfer(t, d, acc, []byte("late")), latency)

		// Bytes held by one shape go on with the next.
		w.nw.ShapeAll(fault.Link{Latency: time.Hour})
		fromA, fromB := readAll(acc, 4), readAll(d, 4)
		require.NoError(t, await(t, write(d, []byte("held"))).err)
		require.NoError(t, await(t, write(acc, []byte("HELD"))).err)
		pending(t, fromA)
		pending(t, fromB)
		// A shape for one way overrides ShapeAll's...
		w.nw.Shape(a.name, b.name, fault.Link{})
		r = await(t, fromA)
		require.NoError(t, r.err)
		assert.Equal(t, "held", string(r.data))
		pending(t, fromB)
		// ...until ShapeAll forgets it.
		w.nw.ShapeAll(fault.Link{})
		r = await(t, fromB)
		require.NoError(t, r.err)
		assert.Equal(t, "HELD", string(r.data))
		flows(t, d, acc)
		flows(t, acc, d)
	})
}

// A write longer than its deadline at the link's pace is cut short, as on
// a socket: it returns how much the link took, which arrives, and a
// timeout.
func TestWriteDeadlineCutsAPacedWriteShort(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, wait = 1 << 20, 300 * time.Millisecond
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: rate, Latency: 10 * time.Millisecond})
		msg := payload(4 << 20) // 4 s at the link's rate
		start := time.Now()
		require.NoError(t, d.SetWriteDeadline(start.Add(wait)))
		r := await(t, write(d, msg))
		require.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, r.err, &ne)
		assert.True(t, ne.Timeout())
		assert.GreaterOrEqual(t, r.at.Sub(start), wait)
		require.Positive(t, r.n, "the link took nothing")
		require.Less(t, r.n, len(msg), "the link took everything")
		// The link took no more than it carried plus what it buffers: two
		// buffers of 64 KiB at this rate.
		carried := int(r.at.Sub(start).Seconds() * rate)
		assert.LessOrEqual(t, r.n, carried+128<<10, "the link took more than it holds")

		// What the link took arrives, and nothing more: the next write
		// follows it.
		require.NoError(t, d.SetWriteDeadline(time.Time{}))
		got := readAll(acc, r.n+4)
		require.NoError(t, await(t, write(d, []byte("tail"))).err)
		rr := await(t, got)
		require.NoError(t, rr.err)
		require.True(t, bytes.Equal(append(msg[:r.n:r.n], "tail"...), rr.data), "data lost or changed")
	})
}

// A node that writes in pieces, each with a deadline, makes progress on a
// slow link: the deadline fires once the link stops, not because it is
// slow.
func TestWriteDeadlinesFireOnlyWhenTheLinkStops(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, piece, total = 1 << 20, 16 << 10, 1 << 20
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: rate, Latency: 10 * time.Millisecond})
		msg := payload(total)
		got := readAll(acc, total)
		for off := 0; off < total; off += piece {
			// A piece takes 16 ms of the link's time.
			require.NoError(t, d.SetWriteDeadline(time.Now().Add(time.Second)))
			_, err := d.Write(msg[off : off+piece])
			require.NoError(t, err, "at offset %d", off)
		}
		r := await(t, got)
		require.NoError(t, r.err)
		require.True(t, bytes.Equal(msg, r.data), "data changed on the way")

		w.nw.Blackhole(a.name, b.name)
		require.NoError(t, d.SetWriteDeadline(time.Now().Add(quiet)))
		_, err := d.Write(msg[:piece])
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		w.nw.Heal()
	})
}

func TestCloseUnblocksAPacedWrite(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, _ := a.dial(b)
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: 1 << 20})
		msg := payload(8 << 20) // 8 s at the link's rate
		wrote := write(d, msg)
		pending(t, wrote)
		require.NoError(t, d.Close())
		r := await(t, wrote)
		assert.True(t, closed(r.err), "write after close: %v", r.err)
		assert.Less(t, r.n, len(msg))
	})
}

// Closing lets the link deliver what it holds, at its pace, before the
// peer reads the end of the stream.
func TestCloseDeliversWhatTheLinkHolds(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		overEachWay(t, w, func(t *testing.T, from, to net.Conn, shape func(fault.Link)) {
			const rate, latency, size = 1 << 20, 50 * time.Millisecond, 256 << 10
			shape(fault.Link{Bandwidth: rate, Latency: latency})
			msg := payload(size)
			type got struct {
				data []byte
				err  error
				at   time.Time
			}
			ch := make(chan got, 1)
			go func() {
				b, err := io.ReadAll(to)
				ch <- got{b, err, time.Now()}
			}()
			start := time.Now()
			_, err := from.Write(msg)
			require.NoError(t, err)
			require.NoError(t, from.Close())
			var r got
			select {
			case r = <-ch:
			case <-time.After(waitFor):
				t.Fatal("read still blocked")
			}
			require.NoError(t, r.err)
			require.True(t, bytes.Equal(msg, r.data), "data lost or changed: %d of %d bytes", len(r.data), len(msg))
			assert.GreaterOrEqual(t, r.at.Sub(start), time.Duration(size)*time.Second/rate+latency)
		})
	})
}

// Breaking a connection drops what its links hold, as a reset would.
func TestBreakDropsWhatTheLinkHolds(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		w.nw.Shape(a.name, b.name, fault.Link{Bandwidth: 64 << 10})
		msg := payload(1 << 20) // 16 s at the link's rate
		got := readAll(acc, len(msg))
		wrote := write(d, msg)
		pending(t, got)
		w.nw.Break(a.name, b.name)
		r := await(t, got)
		// The read ends long before the link could have carried it all.
		assert.Error(t, r.err, "read after a break")
		assert.True(t, closed(await(t, wrote).err))
	})
}

// A black hole stops a shaped link, which resumes as it was after Heal:
// nothing lost, and the shape kept.
func TestBlackholeStopsAShapedLinkAndHealResumesIt(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		const rate, latency = 4 << 20, 20 * time.Millisecond
		l := fault.Link{Bandwidth: rate, Latency: latency}
		w.nw.Shape(a.name, b.name, l)
		w.nw.Shape(b.name, a.name, l)
		flows(t, d, acc)
		flows(t, acc, d)
		w.nw.Blackhole(a.name, b.name)

		stallThenHeal(t, w, d, acc, 512<<10)

		const size = 1 << 20
		least := time.Duration(size)*time.Second/rate + latency
		assert.GreaterOrEqual(t, transfer(t, d, acc, payload(size)), least, "Heal dropped the shape")
		assert.GreaterOrEqual(t, transfer(t, acc, d, payload(size)), least, "Heal dropped the shape")
	})
}

func TestShapeRefusesANegativeLink(t *testing.T) {
	fn := fault.NewNetwork()
	assert.Panics(t, func() { fn.Shape("127.0.0.1:1", "127.0.0.1:2", fault.Link{Bandwidth: -1}) })
	assert.Panics(t, func() { fn.ShapeAll(fault.Link{Latency: -time.Second}) })
}
