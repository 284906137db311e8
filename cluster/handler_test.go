package cluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// handled is what a message handler saw: each payload as it was during the
// call; and how often the slice of the call before, kept past its call
// against the rule, had changed by the next call (checked on the reader's
// goroutine, which writes it).
type handled struct {
	mu     sync.Mutex
	copies [][]byte
	kept   []byte
	reused int
	got    chan struct{} // a message per call
}

func newHandled() *handled { return &handled{got: make(chan struct{}, 1024)} }

func (h *handled) handle(_ cluster.Remote, payload []byte) {
	h.mu.Lock()
	if len(h.copies) > 0 && !bytes.Equal(h.kept, h.copies[len(h.copies)-1]) {
		h.reused++
	}
	h.copies = append(h.copies, bytes.Clone(payload))
	h.kept = payload
	h.mu.Unlock()
	h.got <- struct{}{}
}

// A handler gets every message, in order, instead of Inbox; and the payload
// is the node's memory, which it reads the next message into once the call
// has returned: a handler must copy what it keeps.
func TestMessageHandlerGetsEveryMessageInMemoryTheNodeReuses(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		got := newHandled()
		a := h.node(cluster.WithMessageHandler(got.handle))
		b := h.node()
		mesh(t, a, b)
		const count = 20
		for i := range count {
			// One at a time, so that each is read into the buffer the
			// one before was.
			require.NoError(t, b.Send(remote(a), bytes.Repeat([]byte{byte('a' + i)}, 1000)))
			<-got.got
		}
		big := bytes.Repeat([]byte("large "), 20000) // past the read buffer, and fragmented
		require.NoError(t, b.Send(remote(a), big))
		<-got.got

		got.mu.Lock()
		defer got.mu.Unlock()
		for i := range count {
			assert.Equal(t, bytes.Repeat([]byte{byte('a' + i)}, 1000), got.copies[i], "message %d during its call", i)
		}
		assert.Equal(t, big, got.copies[count])
		assert.Positive(t, got.reused, "the node reused the memory of a payload after its call")
		select {
		case m := <-a.Inbox:
			t.Fatalf("Inbox got %q", m.Payload)
		default:
		}
	})
}

// A slow handler pauses its remote through the receive window: the remote's
// Sends wait and fail with ErrTimeout, nobody is removed, and every message a
// Send accepted arrives, in order. The test is about time, so it runs in a
// synctest bubble, where the handler's 250 ms and b's 100 ms are exact.
func TestSlowMessageHandlerBackpressuresItsRemoteWithoutRemoval(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const size, attempts = 16 << 10, 10
		var handled clustertest.Signal
		var mu sync.Mutex
		var got [][]byte
		slow := func(_ cluster.Remote, payload []byte) {
			time.Sleep(250 * time.Millisecond) // a slow application, in virtual time
			mu.Lock()
			got = append(got, bytes.Clone(payload[:8]))
			mu.Unlock()
			handled.Notify()
		}
		ra, rb := newRecorder(), newRecorder()
		// a lets in 4 messages at a time, one per 250 ms; b gives up on a
		// Send after 100 ms, and checks a's health rarely enough that a
		// message in the handler does not look like silence.
		a := h.node(append(ra.Options(), cluster.WithMessageHandler(slow), cluster.WithReceiveWindow(wire.InitialWindow))...)
		b := h.node(append(rb.Options(), cluster.WithNetworkTimeout(100*time.Millisecond),
			cluster.WithHealthyInterval(10*time.Second), cluster.WithSendQueueSize(size))...)
		mesh(t, a, b)

		var accepted [][]byte
		timedOut := 0
		for i := range attempts * 2 {
			payload := make([]byte, size)
			copy(payload, fmt.Sprintf("msg %04d", i))
			err := b.Send(remote(a), payload)
			if errors.Is(err, cluster.ErrTimeout) {
				timedOut++
				continue
			}
			require.NoError(t, err)
			accepted = append(accepted, payload[:8])
			if len(accepted) == attempts {
				break
			}
		}
		assert.Positive(t, timedOut, "b's Sends waited for a's handler and timed out")
		handled.Wait(t, waitFor, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == len(accepted)
		}, func() string { return "every accepted message reaches the handler" })
		mu.Lock()
		assert.Equal(t, accepted, got, "in order")
		mu.Unlock()
		assert.Zero(t, ra.Count("-"+b.String()), "a removed nobody")
		assert.Zero(t, rb.Count("-"+a.String()), "b removed nobody")
	})
}

// BenchmarkMessageHandler measures one-way throughput through a message
// handler, next to BenchmarkOneWay's Inbox: the handler counts, and the
// clock stops once every payload has arrived. allocs/op counts every
// goroutine, the sender's included.
func BenchmarkMessageHandler(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(bench.SizeName(size), func(b *testing.B) {
			for _, s := range stacks {
				b.Run(s.name, func(b *testing.B) { benchHandler(b, s, size) })
			}
		})
	}
}

func benchHandler(b *testing.B, s stack, size int) {
	defer goleak.VerifyNone(b, goleak.IgnoreCurrent())
	var mu sync.Mutex // guards received, want and done
	var received, want int
	var done chan struct{}
	count := func(cluster.Remote, []byte) {
		mu.Lock()
		if received++; received == want {
			close(done)
		}
		mu.Unlock()
	}
	network := s.network()
	start := func(opts ...cluster.Option) *cluster.Node {
		n, err := cluster.NewNode("127.0.0.1:0", append([]cluster.Option{cluster.WithTransport(network()), cluster.WithCodec(s.codec)}, opts...)...)
		require.NoError(b, err)
		return n
	}
	to, from := start(cluster.WithMessageHandler(count)), start()
	defer to.Close()
	defer from.Close()
	require.NoError(b, from.Add(to.String()))
	payload := make([]byte, size)
	target := remote(to)
	run := func(n int) {
		mu.Lock()
		want, done = received+n, make(chan struct{})
		wait := done
		mu.Unlock()
		for range n {
			if err := from.Send(target, payload); err != nil {
				b.Fatal(err)
			}
		}
		<-wait
	}
	run(1024) // warm-up: buffers grown, windows open

	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := bench.CPUTime()
	run(b.N)
	cpu = bench.CPUTime() - cpu
	b.StopTimer()
	reportCPU(b, cpu)
}

// A message handler may make a request of the remote whose message it
// handles: the reply comes on the connection the handler's call holds up,
// which another reader takes over meanwhile, and the messages that come
// before the reply reach the handler after the call, in order.
func TestMessageHandlerMayRequestOfItsSender(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		var a *cluster.Node
		replies := make(chan string, 1)
		got := newHandled()
		a = h.node(cluster.WithMessageHandler(func(from cluster.Remote, payload []byte) {
			if string(payload) == "ask" {
				reply, err := a.Request(testContext(t), from, []byte("question"))
				if err != nil {
					replies <- err.Error()
				} else {
					replies <- string(reply)
				}
			}
			got.handle(from, payload)
		}))
		b := h.node(cluster.WithRequestHandler(echo))
		mesh(t, a, b)
		for _, m := range []string{"ask", "after", "and after"} {
			require.NoError(t, b.Send(remote(a), []byte(m)))
		}
		assert.Equal(t, "re: question", <-replies)
		for range 3 {
			<-got.got
		}
		got.mu.Lock()
		assert.Equal(t, [][]byte{[]byte("ask"), []byte("after"), []byte("and after")}, got.copies)
		got.mu.Unlock()
		// And the connection carries on, through whichever reader.
		require.NoError(t, b.Send(remote(a), []byte("later")))
		<-got.got
	})
}

// A message handler may close the remote whose message it handles: the
// remote's acknowledgement comes on the connection the call holds up, which
// another reader takes over meanwhile, so the goodbye does not wait out the
// network timeout.
func TestMessageHandlerMayCloseItsSender(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		var a *cluster.Node
		goodbyes := make(chan error, 1)
		a = h.node(
			cluster.WithMessageHandler(func(from cluster.Remote, payload []byte) { a.CloseRemote(from) }),
			cluster.WithObserver(cluster.ObserverFunc(func(e cluster.Event) {
				if e.Kind == cluster.EventGoodbye {
					goodbyes <- e.Err
				}
			})),
		)
		b := h.node()
		mesh(t, a, b)
		require.NoError(t, b.Send(remote(a), []byte("leave me")))
		assert.NoError(t, <-goodbyes, "the goodbye went unacknowledged")
		waitRemotes(t, a)
		waitRemotes(t, b)
	})
}
