package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests play a member that sends peer lists to make the node dial
// what it names: as many addresses as it can, again and again, and
// addresses that never answer ahead of an honest peer's.

// hostileSource stands for the remote that sends a peer list.
func hostileSource(port uint16) *peer {
	return &peer{key: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
}

func TestPeerListDialsArePacedAndNotRepeated(t *testing.T) {
	const addrs = dialBurst + dialRate*2 // two seconds past the burst
	a, err := NewNode("127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	// Addresses on loopback where nothing listens: each dial is refused at
	// once, so only the pool's pace bounds how fast they go.
	list := make([]string, addrs)
	for i := range list {
		list[i] = fmt.Sprintf("127.0.0.3:%d", 20000+i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	start := time.Now()
	require.NoError(t, a.learn(hostileSource(1), list))
	require.NoError(t, a.WaitMesh(ctx))
	elapsed := time.Since(start)
	assert.EqualValues(t, addrs, a.work.dials.Load(), "each refusing address is dialled once")
	minimum := time.Duration(float64(addrs-dialBurst-maxListDials) / dialRate * float64(time.Second))
	assert.GreaterOrEqual(t, elapsed, minimum, "dials went faster than %d a second after a burst of %d", dialRate, dialBurst)

	// The same list again, from another source: every address failed a
	// moment ago, so none is dialled.
	require.NoError(t, a.learn(hostileSource(2), list))
	require.NoError(t, a.WaitMesh(ctx))
	assert.EqualValues(t, addrs, a.work.dials.Load(), "addresses that failed were dialled again within a healthy interval")
}

func TestPeerListDialsAreFairPerSource(t *testing.T) {
	const tarpits = 64
	const timeout = time.Second
	a, err := NewNode("127.0.0.1:0", WithNetworkTimeout(timeout))
	require.NoError(t, err)
	defer a.Close()
	b, err := NewNode("127.0.0.1:0")
	require.NoError(t, err)
	defer b.Close()

	// Listeners that never accept: the kernel completes each connection,
	// and the handshake waits the network timeout for a hello.
	list := make([]string, tarpits)
	for i := range list {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		list[i] = ln.Addr().String()
	}
	require.NoError(t, a.learn(hostileSource(1), list))
	start := time.Now()
	require.NoError(t, a.learn(hostileSource(2), []string{b.String()}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, a.waitUntil(ctx, func() bool { return a.remotes.get(b.self) != nil }))
	// In turn per source, b's address waits for one round of tarpits at
	// most; in one queue it would wait for all of them, 16 timeouts.
	fifo := tarpits / maxListDials * timeout
	assert.Less(t, time.Since(start), fifo/2, "an honest peer's address waited behind another source's")
}

func TestAListeningThirdPartyGetsAFewHellosPerInterval(t *testing.T) {
	// The network timeout is short, so that the handshake of each dial
	// gives up soon; the healthy interval, the negative cache's term, is
	// the default, far longer than the test.
	a, err := NewNode("127.0.0.1:0", WithNetworkTimeout(200*time.Millisecond))
	require.NoError(t, err)
	defer a.Close()
	// A third party that accepts every connection and reads what comes,
	// but speaks no peerweave: each dial sends it a hello, then times out.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Remote after remote names it, as a flood of peer lists would.
	for i := range 10 {
		require.NoError(t, a.learn(hostileSource(uint16(i+1)), []string{ln.Addr().String()}))
		require.NoError(t, a.WaitMesh(ctx))
	}
	assert.EqualValues(t, maxListAttempts, a.work.dials.Load(),
		"a listening address named by 10 peer lists was dialled more than %d times in a healthy interval", maxListAttempts)
}
