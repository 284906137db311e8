package transporttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialNothingListening: dialling an address where nothing listens fails by
// the dial context's deadline (give or take a loaded machine's delays).
func dialNothingListening(t *testing.T, newTransport NewTransport) {
	const deadline = time.Second
	ln := listen(t, newTransport)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	tr := newTransport(t)
	start := time.Now()
	c, err := await(t, "Dial where nothing listens", func() (net.Conn, error) { return tr.Dial(ctx, addr) })
	if err == nil {
		c.Close()
	}
	assert.Error(t, err, "dialled %s, where nothing listens", addr)
	assert.Less(t, time.Since(start), deadline+patience/2, "Dial outlived its context's deadline of %v", deadline)
}

// dialCancelled: Dial with a cancelled context fails.
func dialCancelled(t *testing.T, newTransport NewTransport) {
	ln := listen(t, newTransport)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr := newTransport(t)
	c, err := await(t, "Dial with a cancelled context", func() (net.Conn, error) { return tr.Dial(ctx, ln.Addr().String()) })
	if err == nil {
		c.Close()
	}
	assert.Error(t, err, "Dial with a cancelled context succeeded")
}

// dialCancelledWhilePending: Dial returns once its context is cancelled,
// when the address takes connections but never answers: a TCP listener that
// never accepts and a UDP socket that never reads share its port. A
// transport without a handshake of its own may return a connection; one
// that waits for an answer must give up.
func dialCancelledWhilePending(t *testing.T, newTransport NewTransport) {
	addr := silentAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	tr := newTransport(t)
	c, err := await(t, "Dial cancelled while pending", func() (net.Conn, error) { return tr.Dial(ctx, addr) })
	if err == nil {
		c.Close()
	}
}

// silentAddr returns an address where a TCP listener accepts nothing and a
// UDP socket reads nothing.
func silentAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		tl, err := net.Listen("tcp", loopback)
		require.NoError(t, err)
		u, err := net.ListenPacket("udp", tl.Addr().String())
		if err != nil {
			tl.Close()
			continue
		}
		t.Cleanup(func() {
			tl.Close()
			u.Close()
		})
		return tl.Addr().String()
	}
	require.FailNow(t, "no port free for both TCP and UDP")
	return ""
}

// manyConns: many connections to one listener work at once.
func manyConns(t *testing.T, newTransport NewTransport) {
	const n = 64
	ln := listen(t, newTransport)
	tr := newTransport(t)
	var dialers, acceptors sync.WaitGroup
	dialErrs, acceptErrs := make(chan error, n), make(chan error, n)
	for i := range n {
		dialers.Go(func() { dialErrs <- dialAndSay(tr.Dial, ln.Addr().String(), fmt.Sprintf("conn %03d", i)) })
		acceptors.Go(func() { acceptErrs <- acceptAndEcho(ln) })
	}
	require.NoError(t, awaitErr(t, "64 dialled connections", func() error {
		dialers.Wait()
		close(dialErrs)
		return errors.Join(slices.Collect(chanValues(dialErrs))...)
	}))
	// Every dialler had its echo, so every acceptor is done.
	require.NoError(t, awaitErr(t, "64 accepted connections", func() error {
		acceptors.Wait()
		close(acceptErrs)
		return errors.Join(slices.Collect(chanValues(acceptErrs))...)
	}))
}

// chanValues yields what c holds until it is closed.
func chanValues[T any](c <-chan T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for v := range c {
			if !yield(v) {
				return
			}
		}
	}
}

// dialAndSay dials addr, writes msg and expects it echoed.
func dialAndSay(dial func(context.Context, string) (net.Conn, error), addr, msg string) error {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if string(got) != msg {
		return fmt.Errorf("echo %q for %q", got, msg)
	}
	return nil
}

// acceptAndEcho accepts a connection and echoes one message of the size
// dialAndSay sends.
func acceptAndEcho(ln net.Listener) error {
	c, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(patience))
	buf := make([]byte, len("conn 000"))
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if _, err := c.Write(buf); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}
