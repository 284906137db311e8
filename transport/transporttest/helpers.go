package transporttest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
)

// patience is how long a check waits for something that should happen
// promptly before it calls the transport stuck. It is generous: the suite
// asserts that things happen, not how fast.
const patience = 10 * time.Second

// patienceFor is how long a check waits for size bytes to arrive: at least
// patience, and a second per 256 KiB, a rate any transport reaches even on
// a loaded machine under the race detector.
func patienceFor(size int) time.Duration {
	return max(patience, time.Duration(size>>18)*time.Second)
}

// loopback is where every check listens.
const loopback = "127.0.0.1:0"

// listen listens on loopback with a new transport, closing the listener when
// the test ends.
func listen(t *testing.T, newTransport NewTransport) net.Listener {
	t.Helper()
	ln, err := newTransport(t).Listen(loopback)
	require.NoError(t, err, "listen on %s", loopback)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// pair returns the two ends of a new connection and its listener, all closed
// when the test ends.
func pair(t *testing.T, newTransport NewTransport) (dialled, accepted net.Conn, ln net.Listener) {
	t.Helper()
	ln = listen(t, newTransport)
	dialled, accepted = connect(t, newTransport(t), ln)
	return dialled, accepted, ln
}

// connect dials ln with tr and returns both ends, closed when the test ends.
//
// The acceptor reads first and the dialler writes one byte, which it reads:
// a transport may finish its handshake only once the acceptor reads, as a
// TLS listener does, and a node's acceptor always reads first.
func connect(t *testing.T, tr transport.Transport, ln net.Listener) (dialled, accepted net.Conn) {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	dialled1 := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		c, err := tr.Dial(ctx, ln.Addr().String())
		dialled1 <- result{c, err}
	}()
	accepted, err := await(t, "Accept", ln.Accept)
	require.NoError(t, err, "accept")
	t.Cleanup(func() { accepted.Close() })
	first := make([]byte, 1)
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(accepted, first)
		read <- err
	}()
	d, err := await(t, "Dial", func() (result, error) { return <-dialled1, nil })
	require.NoError(t, err)
	require.NoError(t, d.err, "dial %s", ln.Addr())
	dialled = d.c
	t.Cleanup(func() { dialled.Close() })
	_, err = dialled.Write([]byte{42})
	require.NoError(t, err, "write the first byte")
	require.NoError(t, awaitErr(t, "reading the first byte", func() error { return <-read }))
	require.Equal(t, byte(42), first[0], "first byte")
	return dialled, accepted
}

// await runs f and returns its results, failing the test if f does not
// return within patience.
func await[T any](t *testing.T, what string, f func() (T, error)) (T, error) {
	t.Helper()
	return awaitFor(t, patience, what, f)
}

// awaitFor is await with a patience of d.
func awaitFor[T any](t *testing.T, d time.Duration, what string, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(d):
		require.FailNow(t, what+" is stuck", "it did not return within %v", d)
		panic("unreachable")
	}
}

// awaitErr is await for functions that return only an error.
func awaitErr(t *testing.T, what string, f func() error) error {
	t.Helper()
	_, err := await(t, what, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// random returns n pseudo-random bytes, different for each seed.
func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	r.Read(b)
	return b
}

// send writes b to c in a goroutine; the returned channel yields the error.
func send(c net.Conn, b []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(b)
		done <- err
	}()
	return done
}

// expect reads exactly len(want) bytes from c and checks they are want.
func expect(t *testing.T, c net.Conn, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	n, err := awaitFor(t, patienceFor(len(want)), "Read", func() (int, error) { return io.ReadFull(c, got) })
	require.NoError(t, err, "read %d of %d bytes", n, len(want))
	if !bytes.Equal(got, want) {
		require.FailNow(t, "bytes differ", "first difference at offset %d of %d", firstDiff(got, want), len(want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// exchange checks that a message goes from a to b and another back.
func exchange(t *testing.T, a, b net.Conn) {
	t.Helper()
	for _, dir := range [][2]net.Conn{{a, b}, {b, a}} {
		msg := []byte("ping from " + dir[0].LocalAddr().String())
		sent := send(dir[0], msg)
		expect(t, dir[1], msg)
		require.NoError(t, <-sent, "write")
	}
}

// isTimeout reports whether err is a deadline error in either form the net
// package uses.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// assertTimeout checks that err is a deadline error.
func assertTimeout(t *testing.T, err error, op string) {
	t.Helper()
	require.Error(t, err, "%s past its deadline succeeded", op)
	assert.True(t, isTimeout(err), "%s past its deadline: %v (%T) matches neither os.ErrDeadlineExceeded nor net.Error.Timeout()", op, err, err)
}

// assertIPPort checks that a's String form is "ip:port".
func assertIPPort(t *testing.T, a net.Addr, what string) {
	t.Helper()
	require.NotNil(t, a, "%s is nil", what)
	_, err := netip.ParseAddrPort(a.String())
	assert.NoError(t, err, "%s %q is not ip:port", what, a.String())
}
