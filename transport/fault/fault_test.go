package fault_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/tcp"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance checks that a fault network without faults is the
// transport it wraps.
func TestConformance(t *testing.T) {
	fn := fault.NewNetwork()
	transporttest.Run(t, func(*testing.T) cluster.Transport { return fn.Wrap(tcp.New()) })
}

const (
	waitFor = 10 * time.Second       // how long a test waits for what must happen
	quiet   = 100 * time.Millisecond // how long a test watches for what must not
)

// inners are the transports the fault network is tested over: pipes, whose
// writes wait for the reader, and sockets, whose writes fill a buffer.
var inners = []struct {
	name string
	new  func() func() cluster.Transport
}{
	{"mem", func() func() cluster.Transport {
		nw := mem.NewNetwork()
		return func() cluster.Transport { return nw }
	}},
	{"tcp", func() func() cluster.Transport {
		return func() cluster.Transport { return tcp.New() }
	}},
}

// forEachInner runs f as a parallel subtest over every inner transport.
func forEachInner(t *testing.T, f func(t *testing.T, w *world)) {
	t.Parallel()
	for _, in := range inners {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			f(t, &world{t: t, nw: fault.NewNetwork(), inner: in.new()})
		})
	}
}

// world is a fault network and the endpoints of one test.
type world struct {
	t     testing.TB
	nw    *fault.Network
	inner func() cluster.Transport
	// closers, if not nil, collects what the test closes at its end,
	// instead of t.Cleanup: in a synctest bubble, cleanups run only once
	// every goroutine of the bubble has ended.
	closers *[]func()
}

// atEnd closes c when the test ends.
func (w *world) atEnd(c io.Closer) {
	if w.closers != nil {
		*w.closers = append(*w.closers, func() { c.Close() })
		return
	}
	w.t.Cleanup(func() { c.Close() })
}

// endpoint is a node's transport: it listens, so the network knows its name.
type endpoint struct {
	w    *world
	tr   cluster.Transport
	ln   net.Listener
	name string
}

func (w *world) endpoint() *endpoint {
	tr := w.nw.Wrap(w.inner())
	ln, err := tr.Listen("127.0.0.1:0")
	require.NoError(w.t, err)
	w.atEnd(ln)
	return &endpoint{w: w, tr: tr, ln: ln, name: ln.Addr().String()}
}

// dial connects e to to and returns e's end and to's end.
func (e *endpoint) dial(to *endpoint) (dialler, acceptor net.Conn) {
	t := e.w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	dialler, err := e.tr.Dial(ctx, to.name)
	require.NoError(t, err)
	e.w.atEnd(dialler)
	acceptor, err = to.ln.Accept()
	require.NoError(t, err)
	e.w.atEnd(acceptor)
	return dialler, acceptor
}

// payload returns n random bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// result is the outcome of a read or write run in the background.
type result struct {
	data []byte
	n    int // bytes written
	err  error
	at   time.Time
}

// readAll reads n bytes from c in the background.
func readAll(c net.Conn, n int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		b := make([]byte, n)
		_, err := io.ReadFull(c, b)
		ch <- result{data: b, err: err, at: time.Now()}
	}()
	return ch
}

// write writes b to c in the background.
func write(c net.Conn, b []byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := c.Write(b)
		ch <- result{n: n, err: err, at: time.Now()}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		require.FailNow(t, "operation still blocked")
		return result{}
	}
}

func pending(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		require.FailNow(t, "operation went through a fault", "err %v", r.err)
	case <-time.After(quiet):
	}
}

// flows proves that data goes from one end to the other, intact.
func flows(t *testing.T, from, to net.Conn) {
	t.Helper()
	b := payload(64 << 10)
	got := readAll(to, len(b))
	require.NoError(t, await(t, write(from, b)).err)
	r := await(t, got)
	require.NoError(t, r.err)
	require.True(t, bytes.Equal(b, r.data), "data changed on the way")
}

// stalls proves that nothing written at from reaches to, and returns the
// pending read and write so that a test can see them finish.
func stalls(t *testing.T, from, to net.Conn, b []byte) (wrote, read <-chan result) {
	t.Helper()
	read = readAll(to, len(b))
	wrote = write(from, b)
	pending(t, read)
	return wrote, read
}

// closed reports whether err says the connection was closed at this end:
// sockets say net.ErrClosed, pipes io.ErrClosedPipe.
func closed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe)
}

func TestConnectionsWithoutFaultsPassEverything(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		flows(t, d, acc)
		flows(t, acc, d)
		assert.Equal(t, 1, w.nw.Dials(a.name, b.name))
		assert.Zero(t, w.nw.Dials(b.name, a.name))
	})
}

func TestBlackholeStallsBothWaysAndHealResumesWithNothingLost(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		w.nw.Blackhole(a.name, b.name)

		// Big enough to fill socket buffers and to be read in many pieces.
		stallThenHeal(t, w, d, acc, 1<<20)
		flows(t, d, acc)
	})
}

// stallThenHeal writes size bytes each way over the black-holed connection
// of d and acc, checks that neither gets through, heals, and checks that
// both then arrive whole and in order.
func stallThenHeal(t *testing.T, w *world, d, acc net.Conn, size int) {
	t.Helper()
	out, back := payload(size), payload(size)
	wroteOut, readOut := stalls(t, d, acc, out)
	wroteBack, readBack := stalls(t, acc, d, back)

	w.nw.Heal()
	for _, ch := range []<-chan result{wroteOut, wroteBack} {
		require.NoError(t, await(t, ch).err)
	}
	r := await(t, readOut)
	require.NoError(t, r.err)
	assert.True(t, bytes.Equal(out, r.data), "dialler's data lost or reordered")
	r = await(t, readBack)
	require.NoError(t, r.err)
	assert.True(t, bytes.Equal(back, r.data), "acceptor's data lost or reordered")
}

func TestDeadlinesFireInsideABlackhole(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, acc := a.dial(b)
		w.nw.Blackhole(a.name, b.name)
		timedOut := func(err error) {
			t.Helper()
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout())
		}

		// A deadline set before the call.
		require.NoError(t, d.SetWriteDeadline(time.Now().Add(quiet)))
		timedOut(await(t, write(d, []byte("x"))).err)
		held := write(acc, []byte("held"))
		require.NoError(t, d.SetReadDeadline(time.Now().Add(quiet)))
		timedOut(await(t, readAll(d, 4)).err)
		require.NoError(t, await(t, held).err)

		// A deadline set while the call waits, as a node does to interrupt a
		// handshake.
		require.NoError(t, d.SetDeadline(time.Time{}))
		read, wrote := readAll(d, 4), write(d, []byte("y"))
		pending(t, read)
		pending(t, wrote)
		require.NoError(t, d.SetDeadline(time.Unix(1, 0)))
		timedOut(await(t, read).err)
		timedOut(await(t, wrote).err)

		// What arrived during the black hole is still there once it lifts.
		w.nw.Heal()
		require.NoError(t, d.SetDeadline(time.Time{}))
		r := await(t, readAll(d, 4))
		require.NoError(t, r.err)
		assert.Equal(t, "held", string(r.data))
	})
}

func TestCloseUnblocksACallInABlackhole(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		d, _ := a.dial(b)
		w.nw.Blackhole(a.name, b.name)
		read, wrote := readAll(d, 1), write(d, []byte("x"))
		pending(t, wrote)
		require.NoError(t, d.Close())
		assert.True(t, closed(await(t, read).err))
		assert.True(t, closed(await(t, wrote).err))
	})
}

func TestDialsIntoABlackholeHangUntilTheContextEndsOrHeal(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		w.nw.Blackhole(a.name, b.name)
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		defer cancel()
		_, err := a.tr.Dial(ctx, b.name)
		require.ErrorIs(t, err, fault.ErrUnreachable)
		assert.ErrorIs(t, err, syscall.EHOSTUNREACH)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		dialled := make(chan error, 1)
		go func() {
			c, err := b.tr.Dial(context.Background(), a.name)
			if err == nil {
				c.Close()
			}
			dialled <- err
		}()
		select {
		case err := <-dialled:
			t.Fatalf("dial went through a black hole: %v", err)
		case <-time.After(quiet):
		}
		w.nw.Heal()
		select {
		case err := <-dialled:
			require.NoError(t, err)
		case <-time.After(waitFor):
			t.Fatal("dial still hangs after Heal")
		}
		// Every attempt counts, whether it got through or not.
		assert.Equal(t, 1, w.nw.Dials(a.name, b.name))
		assert.Equal(t, 1, w.nw.Dials(b.name, a.name))
	})
}

func TestPartitionCutsOnlyAcrossTheSides(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b, c, d := w.endpoint(), w.endpoint(), w.endpoint(), w.endpoint()
		ab, ba := a.dial(b)
		ca, ac := c.dial(a)
		bd, db := b.dial(d)
		cd, dc := c.dial(d)
		w.nw.Partition([]string{a.name, b.name}, []string{c.name, d.name})
		flows(t, ab, ba)
		flows(t, cd, dc)
		for _, p := range [][2]net.Conn{{ca, ac}, {ac, ca}, {bd, db}, {db, bd}} {
			stalls(t, p[0], p[1], []byte("x"))
		}
	})
}

func TestIsolateCutsANodeFromEveryNodeSoFar(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b, c := w.endpoint(), w.endpoint(), w.endpoint()
		ab, ba := a.dial(b)
		ca, ac := c.dial(a)
		bc, cb := b.dial(c)
		w.nw.Isolate(a.name)
		stalls(t, ab, ba, []byte("x"))
		stalls(t, ac, ca, []byte("x"))
		flows(t, bc, cb)
		flows(t, cb, bc)

		// A node that listens later is not cut off.
		late := w.endpoint()
		al, la := a.dial(late)
		flows(t, al, la)
		flows(t, la, al)
	})
}

func TestCutStopsOneDirectionOnly(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b := w.endpoint(), w.endpoint()
		ab, ba := a.dial(b) // dialled by a
		bA, aB := b.dial(a) // dialled by b
		w.nw.Cut(a.name, b.name)

		// b hears nothing from a on either connection...
		stalls(t, ab, ba, []byte("x"))
		stalls(t, aB, bA, []byte("x"))
		// ...while a still hears b.
		flows(t, ba, ab)
		flows(t, bA, aB)

		// A new connection needs both ways, so no dial gets through.
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		defer cancel()
		_, err := a.tr.Dial(ctx, b.name)
		assert.ErrorIs(t, err, fault.ErrUnreachable)
		_, err = b.tr.Dial(ctx, a.name)
		assert.ErrorIs(t, err, fault.ErrUnreachable)
	})
}

func TestDelayHoldsWritesBothWays(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b, c := w.endpoint(), w.endpoint(), w.endpoint()
		ab, ba := a.dial(b)
		ac, ca := a.dial(c)
		const delay = 200 * time.Millisecond
		w.nw.Delay(a.name, b.name, delay)
		for _, p := range [][2]net.Conn{{ab, ba}, {ba, ab}} {
			msg := payload(1000)
			read := readAll(p[1], len(msg))
			start := time.Now()
			require.NoError(t, await(t, write(p[0], msg)).err)
			r := await(t, read)
			require.NoError(t, r.err)
			assert.Equal(t, msg, r.data)
			assert.GreaterOrEqual(t, r.at.Sub(start), delay, "data arrived early")
		}
		// Other links keep their pace: a read waits for nothing but the data.
		flows(t, ac, ca)

		// A deadline inside the delay does not cut it short, but the call
		// then times out; what was read stays for the next call.
		start := time.Now()
		require.NoError(t, ab.SetWriteDeadline(start.Add(delay/4)))
		r := await(t, write(ab, []byte("late")))
		assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
		assert.GreaterOrEqual(t, r.at.Sub(start), delay)
		sent := write(ba, []byte("kept"))
		start = time.Now()
		require.NoError(t, ab.SetReadDeadline(start.Add(delay/4)))
		r = await(t, readAll(ab, 4))
		assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
		assert.GreaterOrEqual(t, r.at.Sub(start), delay)
		require.NoError(t, await(t, sent).err)
		require.NoError(t, ab.SetDeadline(time.Time{}))
		r = await(t, readAll(ab, 4))
		require.NoError(t, r.err)
		assert.Equal(t, "kept", string(r.data))

		w.nw.Heal()
		flows(t, ab, ba)
	})
}

func TestBreakClosesEveryConnectionBetweenTwoNodes(t *testing.T) {
	forEachInner(t, func(t *testing.T, w *world) {
		a, b, c := w.endpoint(), w.endpoint(), w.endpoint()
		ab, ba := a.dial(b)
		bA, aB := b.dial(a)
		ac, ca := a.dial(c)
		w.nw.Break(a.name, b.name)

		// Both ends see the connection end, as after a crash or a reset.
		for _, end := range []net.Conn{ba, aB} {
			r := await(t, readAll(end, 1))
			assert.True(t, errors.Is(r.err, io.EOF) || errors.Is(r.err, io.ErrClosedPipe) ||
				errors.Is(r.err, syscall.ECONNRESET), "read after a break: %v", r.err)
		}
		for _, end := range []net.Conn{ab, bA} {
			assert.True(t, closed(await(t, write(end, []byte("x"))).err))
		}
		flows(t, ac, ca)

		// The nodes may connect again.
		ab, ba = a.dial(b)
		flows(t, ab, ba)
		assert.Equal(t, 2, w.nw.Dials(a.name, b.name))
	})
}
