package quic

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A closed connection whose peer never reads gives up after Linger, and its
// socket closes.
func TestLingerBoundsCloseToPeerThatDoesNotRead(t *testing.T) {
	peer := New()
	ln, err := peer.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	tr := New(WithLinger(200 * time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := tr.Dial(ctx, ln.Addr().String())
	require.NoError(t, err)
	a, err := ln.Accept()
	require.NoError(t, err)
	defer a.Close()
	_, err = d.Write([]byte("never read"))
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.Eventually(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.ep == nil
	}, 10*time.Second, 10*time.Millisecond, "the dialler's socket must close once Linger has passed")
}

// quicgoAcceptQueue is the size of quic-go's queue of handshaken connections
// (protocol.MaxAcceptQueueSize); the listener refuses more.
const quicgoAcceptQueue = 32

// Dials that overflow the listener's backlog and quic-go's queue are refused
// by the listener, try again, and get through once Accept catches up.
func TestDialRetriesWhenListenerRefuses(t *testing.T) {
	const n = backlog + quicgoAcceptQueue + 8
	ln, err := New().Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	tr := New()
	errs := make(chan error, n)
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := tr.Dial(ctx, ln.Addr().String())
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	// A full backlog of dials completes before anything is accepted; by
	// then the others have overflowed quic-go's queue.
	for range backlog {
		require.NoError(t, <-errs)
	}
	for range n {
		c, err := ln.Accept()
		require.NoError(t, err)
		c.Close()
	}
	for range n - backlog {
		require.NoError(t, <-errs)
	}
}
