//go:build unix

package cluster_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// intruder is how one connection of a hostile crowd behaves.
type intruder struct {
	name string
	send []byte
	// stall: the node can only drop it at the handshake timeout.
	stall bool
}

func intruders() []intruder {
	pre := wire.AppendPreamble(nil, "gob")
	return []intruder{
		{"silent", nil, true},
		{"garbage", []byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8 garbage"), false},
		{"half a preamble", []byte("pw"), true},
		{"preamble, half a header", append(pre, 0, 0), true},
		{"hello of 4 GiB", append(pre, 0xff, 0xff, 0xff, 0xff, byte(wire.KindHello)), false},
		{"half a hello", append(append(pre, header(101, wire.KindHello)...), "\x03\x04"...), true},
	}
}

// TestCrowdOfHostileConnectionsIsDroppedWhileAGoodPairTalks opens
// thousands of raw TCP connections to a node that never complete a
// handshake: silent, garbage, stalled halfway. Each must be dropped within
// two handshake timeouts (a wait for a slot of the gate, then its
// handshake), the node must keep exchanging messages
// with a good peer meanwhile, and goroutines and heap must return to where
// they were. It runs alone, to measure those.
func TestCrowdOfHostileConnectionsIsDroppedWhileAGoodPairTalks(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	count := 2000
	if long {
		count = 9000
	}
	// Both ends of every connection are in this process.
	count = min(count, int(lim.Cur-512)/2)
	if count < 100 {
		t.Skipf("only %d file descriptors", lim.Cur)
	}

	h := newHarness(t, stacks[0])
	// The crowd causes too many records to keep: the statistics count them.
	a, b := h.node(cluster.WithLogger(slog.New(slog.DiscardHandler))), h.node()
	mesh(t, a, b)
	const timeout = time.Second
	a.SetNetworkTimeout(timeout)
	idle := goleak.IgnoreCurrent()
	goroutines := runtime.NumGoroutine()
	heapBefore := heapInUse()

	stop := make(chan struct{})
	var talk sync.WaitGroup
	talked := make([]int, 2)
	for i, pair := range [][2]*cluster.Node{{a, b}, {b, a}} {
		talk.Go(func() { converse(t, pair[0], pair[1], stop) })
		talk.Go(func() { talked[i] = listen(t, pair[1]) })
	}

	kinds := intruders()
	type outcome struct {
		kind    intruder
		elapsed time.Duration
		err     error
	}
	outcomes := make(chan outcome, count)
	dials := make(chan int)
	var crowd sync.WaitGroup
	var heapPeak uint64
	for range 64 {
		crowd.Go(func() {
			for i := range dials {
				kind := kinds[i%len(kinds)]
				start := time.Now() // the node cannot accept before the dial started
				c, err := net.Dial("tcp", a.String())
				if !assert.NoError(t, err) {
					continue
				}
				crowd.Go(func() {
					defer c.Close()
					if len(kind.send) > 0 {
						c.Write(kind.send)
					}
					_, err := io.Copy(io.Discard, c)
					outcomes <- outcome{kind, time.Since(start), err}
				})
			}
		})
	}
	for i := range count {
		dials <- i
		if i == count-1 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heapPeak = ms.HeapAlloc
		}
	}
	close(dials)
	crowd.Wait()
	close(outcomes)
	close(stop)
	talk.Wait()

	worst := make(map[string]time.Duration)
	held := 0
	for o := range outcomes {
		// The gate (gate.go) lets a crowd from one source handshake a few
		// at a time: the rest wait for a slot for up to the handshake
		// timeout, then have their own, or are turned away at once,
		// their unread bytes making the kernel reset the connection.
		if !errors.Is(o.err, syscall.ECONNRESET) {
			assert.NoError(t, o.err, "%s: the node did not hang up cleanly", o.kind.name)
		}
		assert.Less(t, o.elapsed, 2*timeout+margin, "%s: kept too long", o.kind.name)
		if o.kind.stall && o.elapsed >= timeout {
			held++
		}
		worst[o.kind.name] = max(worst[o.kind.name], o.elapsed)
	}
	// Those in the gate's slots stalled until the handshake timeout.
	assert.GreaterOrEqual(t, held, cluster.MaxHandshakesPerSource, "stalled connections dropped before the handshake timeout")
	t.Logf("%d connections; longest kept: %v", count, worst)
	t.Logf("heap: %d KiB before, %d KiB with the crowd", heapBefore>>10, heapPeak>>10)
	assert.Positive(t, talked[0], "b heard nothing from a")
	assert.Positive(t, talked[1], "a heard nothing from b")
	assert.Equal(t, names(b), remoteNames(a))
	hs := a.Stats().Handshakes
	assert.GreaterOrEqual(t, hs.Failed(), uint64(count), "the node did not count every drop: %+v", hs)

	goleak.VerifyNone(t, idle)
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines)
	// The runtime keeps the descriptor of every goroutine that ever ran,
	// under half a KiB each: two per connection here.
	bound := heapBefore + 4<<20 + uint64(count)<<10
	var heapAfter uint64
	assert.Eventually(t, func() bool {
		heapAfter = heapInUse()
		return heapAfter < bound
	}, waitFor, 100*time.Millisecond, "heap did not come back under %d KiB", bound>>10)
	t.Logf("heap: %d KiB after", heapAfter>>10)
}

// converse sends numbered messages from one node to another until stop
// closes, then "end".
func converse(t *testing.T, from, to *cluster.Node, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			assert.NoError(t, from.Send(remote(to), []byte("end")))
			return
		default:
		}
		if !assert.NoError(t, from.Send(remote(to), fmt.Append(nil, i))) {
			return
		}
		time.Sleep(time.Millisecond) // a pace, not a synchronisation
	}
}

// listen reads what converse sends to n until "end", checks that it comes
// in order and complete, and returns how many messages came.
func listen(t *testing.T, n *cluster.Node) int {
	for i := 0; ; i++ {
		select {
		case m := <-n.Inbox:
			if string(m.Payload) == "end" {
				return i
			}
			if !assert.Equal(t, fmt.Sprint(i), string(m.Payload), "%s: message lost or out of order", n) {
				return i
			}
		case <-time.After(waitFor):
			assert.Fail(t, "conversation stopped", "%s heard nothing for %v", n, waitFor)
			return i
		}
	}
}
