package cluster_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// These tests play the attacker of the assembly budget (assembly.go): fakes
// that begin fragmented payloads of the maximum size and never finish them,
// or trickle them, so as to make a node hold as much as they can.

// fragmenter is a fake remote, written as an attacker would: it completes
// the handshake, answers pings, and sends the fragments of a payload by
// hand, within the window the node grants it, which it reads from the
// node's Window frames.
type fragmenter struct {
	addr     string
	conn     net.Conn
	overhead int // what a message costs in the window besides its payload

	mu     sync.Mutex // guards credit, and serialises writes
	credit int        // payload bytes the node's window lets it send
	grew   chan struct{}
	closed chan struct{} // closed once the node hung up

	sent  atomic.Int64 // payload bytes sent
	start int64        // sent when the payload under way began: the sender's
}

func (f *fragmenter) String() string { return f.addr }

// dialFragmenter connects a fragmenter that claims addr to target, whose
// receive window is window.
func dialFragmenter(t *testing.T, h *harness, target *cluster.Node, addr string) *fragmenter {
	t.Helper()
	conn, br := rawHandshake(t, h, target, addr)
	f := &fragmenter{
		addr: addr, conn: conn, overhead: wire.Overhead(wire.Version),
		credit: wire.InitialWindow + wire.Overhead(wire.Version),
		grew:   make(chan struct{}, 1), closed: make(chan struct{}),
	}
	go f.serve(br)
	return f
}

// readFrame reads one frame, and returns its body.
func (f *fragmenter) readFrame(br *bufio.Reader) (wire.Kind, []byte, error) {
	h := make([]byte, wire.HeaderSize)
	if _, err := io.ReadFull(br, h); err != nil {
		return 0, nil, err
	}
	k, size, err := wire.ParseHeader(h, 1<<30)
	if err != nil {
		return 0, nil, err
	}
	body := make([]byte, size)
	_, err = io.ReadFull(br, body)
	return k, body, err
}

// serve answers pings and counts the node's grants until the node hangs up.
func (f *fragmenter) serve(br *bufio.Reader) {
	defer close(f.closed)
	for {
		k, body, err := f.readFrame(br)
		if err != nil {
			return
		}
		switch k {
		case wire.KindPing:
			f.write(wire.AppendHeader(nil, wire.KindPong, 0))
		case wire.KindWindow:
			w, err := wire.ParseWindow(body)
			if err != nil {
				return
			}
			f.mu.Lock()
			f.credit += int(w.Increment)
			f.mu.Unlock()
			select {
			case f.grew <- struct{}{}:
			default:
			}
		}
	}
}

// write writes b; it fails only once the node hung up, which the tests see.
func (f *fragmenter) write(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.conn.Write(b)
	return err
}

// take waits until the window lets at least least bytes go, and takes up
// to most of it; 0 once the node hung up.
func (f *fragmenter) take(least, most int) int {
	for {
		f.mu.Lock()
		if f.credit >= least {
			n := min(f.credit, most)
			f.credit -= n
			f.mu.Unlock()
			return n
		}
		f.mu.Unlock()
		select {
		case <-f.grew:
		case <-f.closed:
			return 0
		}
	}
}

// send sends a payload of total bytes up to upTo of them, as fast as the
// window lets it, then stops: it returns once it has sent them or the node
// hung up, waiting for the window meanwhile.
func (f *fragmenter) send(total, upTo int) {
	for f.sent.Load()-f.start < int64(upTo) {
		if !f.fragment(total, min(wire.MaxFragment, upTo-int(f.sent.Load()-f.start))) {
			return
		}
	}
}

// fragment sends the next fragment of a payload of total bytes, of at most
// n bytes, as soon as the window lets one byte of it go; false once the
// node hung up.
func (f *fragmenter) fragment(total, n int) bool {
	sent := int(f.sent.Load() - f.start)
	cost := 0
	if sent == 0 {
		cost = f.overhead
	}
	if n = f.take(cost+1, cost+n) - cost; n <= 0 {
		return false
	}
	var b []byte
	if sent == 0 {
		b = wire.AppendHeader(nil, wire.KindFirst, wire.FirstSize+n)
		b = wire.First{Total: uint32(total)}.Append(b)
	} else {
		b = wire.AppendHeader(nil, wire.KindMore, n)
	}
	if f.write(append(b, make([]byte, n)...)) != nil {
		return false
	}
	f.sent.Add(int64(n))
	return true
}

// trickle sends the first fragment of a payload of total bytes, then one
// byte a second, until the node hangs up.
func (f *fragmenter) trickle(total int) {
	if !f.fragment(total, wire.MaxFragment) {
		return
	}
	for f.fragment(total, 1) {
		time.Sleep(time.Second)
	}
}

// inAMemBubble runs f in a synctest bubble, not in parallel, with a
// harness over transport/mem made inside it, as forEachCodecInABubble does
// for one codec: for a test that measures the heap.
func inAMemBubble(t *testing.T, f func(t *testing.T, h *harness)) {
	for _, s := range stacks {
		if s.name != "mem+gob" {
			continue
		}
		synctest.Test(t, func(t *testing.T) {
			t.Cleanup(func() { time.Sleep(time.Minute) })
			f(t, newHarness(t, s))
		})
	}
}

// Sixteen fakes each begin a payload of the maximum size and send all of it
// but its last byte, as fast as the window lets them. Four of them get room
// in the budget (four maximum-size messages), and the node lets their
// fragments through; the other twelve wait, charged to their windows, and
// stop once they have sent a window. So the node holds at most the budget
// plus a window per fake, where it used to hold a maximum-size payload per
// fake: measured by the budget's accounting, by what the fakes got to
// send, and by the heap. It measures the heap, so it runs alone.
func TestFragmentedPayloadsUnderWayAreBoundedNodeWide(t *testing.T) {
	const (
		maxSize = 1 << 20
		window  = 64 << 10
		fakes   = 16
		// Each connection's buffers, which grow with the frames: the
		// node's read buffer (32 KiB) and transport/mem's buffer of the
		// fake's direction (what a socket's kernel buffers hold on TCP),
		// about two fragments.
		slack = fakes * (32<<10 + 2*wire.MaxFragment)
	)
	inAMemBubble(t, func(t *testing.T, h *harness) {
		a := h.node(cluster.WithMaxMessageSize(maxSize), cluster.WithReceiveWindow(window))
		limit := cluster.AssemblyLimit(a)
		require.Equal(t, int64(4*maxSize), limit)
		fs := make([]*fragmenter, fakes)
		for i := range fs {
			fs[i] = dialFragmenter(t, h, a, fmt.Sprintf("127.0.0.1:%d", i+1))
		}
		synctest.Wait()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)

		for _, f := range fs {
			go f.send(maxSize, maxSize-1)
		}
		synctest.Wait() // every fake has sent all it may

		var sent int64
		done := 0
		for _, f := range fs {
			sent += f.sent.Load()
			if f.sent.Load() == maxSize-1 {
				done++
			}
		}
		assert.Equal(t, limit, cluster.AssemblyHeld(a), "the budget is not full")
		assert.Equal(t, 4, done, "fakes that got room sent all but the last byte")
		bound := limit + fakes*int64(window+wire.MessageOverhead)
		assert.LessOrEqual(t, sent, bound)

		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("the fakes sent %d bytes; the node holds %d bytes for them (bound %d; a payload each would be %d)",
			sent, held, bound, fakes*maxSize)
		// A payload's buffer doubles as its bytes arrive, up to its
		// length: a waiting one may take twice its window.
		assert.LessOrEqual(t, held, limit+2*fakes*int64(window+wire.MessageOverhead)+slack)
		runtime.KeepAlive(fs)
	})
}

// While four fakes hold the whole budget and trickle their payloads at a
// byte a second, an honest node's maximum-size message, larger than the
// window, waits for room: after one network timeout the fakes, far below
// the floor rate, are dropped as ones that break the protocol, and the
// message arrives; the honest node stays.
func TestTricklersLoseTheirRoomToAnHonestPayload(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const maxSize = 256 << 10
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithMaxMessageSize(maxSize), cluster.WithReceiveWindow(64<<10))
		b := h.node(cluster.WithMaxMessageSize(maxSize))
		mesh(t, a, b)
		fs := make([]*fragmenter, 4)
		for i := range fs {
			fs[i] = dialFragmenter(t, h, a, fmt.Sprintf("127.0.0.1:%d", i+1))
			go fs[i].trickle(maxSize)
		}
		synctest.Wait()
		require.Equal(t, cluster.AssemblyLimit(a), cluster.AssemblyHeld(a), "the fakes do not hold the budget")

		start := time.Now()
		payload := make([]byte, maxSize)
		rand.Read(payload)
		require.NoError(t, b.Send(remote(a), payload))
		m := receive(t, a)
		took := time.Since(start)
		assert.Equal(t, payload, m.Payload)
		assert.GreaterOrEqual(t, took, clustertest.Timeout, "the fakes were dropped before the grace")
		assert.Less(t, took, 2*clustertest.Timeout)
		for _, f := range fs {
			err := ev.WaitRemoved(t, f)
			assertCause(t, cluster.ErrProtocol, err, "a")
			assert.ErrorContains(t, err, "fragmented payload")
		}
		assert.Equal(t, names(b), remoteNames(a))
		synctest.Wait()
		assert.Zero(t, cluster.AssemblyHeld(a))
	})
}

// Six honest nodes send a maximum-size message each, larger than the
// window, at once, to a node whose budget holds four: all arrive, in turn,
// and nobody is removed.
func TestMoreLargePayloadsThanTheBudgetHoldsAllArrive(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const maxSize, senders = 256 << 10, 6
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithMaxMessageSize(maxSize), cluster.WithReceiveWindow(64<<10))
		bs := h.nodes(senders, cluster.WithMaxMessageSize(maxSize))
		mesh(t, append([]*cluster.Node{a}, bs...)...)
		for i, b := range bs {
			payload := make([]byte, maxSize)
			payload[0] = byte(i)
			go func() { assert.NoError(t, b.Send(remote(a), payload)) }()
		}
		got := map[string]bool{}
		for range senders {
			m := receive(t, a)
			assert.Len(t, m.Payload, maxSize)
			got[m.From.String()] = true
		}
		assert.Len(t, got, senders)
		assert.Empty(t, ev.Find(clustertest.Is(cluster.EventRemoved, nil)))
		assert.Equal(t, names(bs...), remoteNames(a))
		synctest.Wait()
		assert.Zero(t, cluster.AssemblyHeld(a))
	})
}

// The room of a payload under way comes back whichever way its connection
// ends: closed by the fake, dropped for a protocol error, after a goodbye,
// or as the node closes; and a payload that waited for room gets it, and
// with it what it held of its window back.
func TestRoomComesBackWhenPayloadsUnderWayEnd(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const maxSize = 256 << 10
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithMaxMessageSize(maxSize), cluster.WithReceiveWindow(64<<10))
		fs := make([]*fragmenter, 6)
		for i := range fs {
			fs[i] = dialFragmenter(t, h, a, fmt.Sprintf("127.0.0.1:%d", i+1))
			if i < 4 {
				fs[i].fragment(maxSize, wire.MaxFragment)
			} else {
				go fs[i].send(maxSize, maxSize-1)
			}
			synctest.Wait() // in order: the first four get room, the others wait in turn
		}
		limit := cluster.AssemblyLimit(a)
		require.Equal(t, limit, cluster.AssemblyHeld(a))
		waiting := fs[4:]
		for _, f := range waiting {
			require.Less(t, f.sent.Load(), int64(maxSize-1), "%s sent without room", f)
		}

		// Closed by the fake: the first waiter gets its room, and sends
		// the rest.
		fs[0].conn.Close()
		ev.WaitRemoved(t, fs[0])
		synctest.Wait()
		assert.Equal(t, limit, cluster.AssemblyHeld(a))
		assert.Equal(t, int64(maxSize-1), waiting[0].sent.Load())
		assert.Less(t, waiting[1].sent.Load(), int64(maxSize-1))

		// A protocol error: a plain message inside the fragmented one.
		require.NoError(t, fs[1].write(wire.AppendHeader(nil, wire.KindData, 0)))
		assertCause(t, cluster.ErrProtocol, ev.WaitRemoved(t, fs[1]), "a")
		synctest.Wait()
		assert.Equal(t, limit, cluster.AssemblyHeld(a))
		assert.Equal(t, int64(maxSize-1), waiting[1].sent.Load())

		// A goodbye.
		require.NoError(t, fs[2].write(wire.AppendHeader(nil, wire.KindBye, 0)))
		ev.WaitRemoved(t, fs[2])
		fs[2].conn.Close()
		synctest.Wait()
		assert.Equal(t, limit-maxSize, cluster.AssemblyHeld(a))

		// The node closes with three payloads under way.
		a.Close()
		assert.Zero(t, cluster.AssemblyHeld(a))
	})
}

// With a message handler, the messages that arrive while a handler call
// waits for its own remote (a Request that the fake never answers) wait,
// copied, for the call to return. A fragmented one keeps its room in the
// budget meanwhile: a fake that sends whole maximum-size payloads, one
// after the other, gets four of them in (the one in the call and three
// held), then waits with a window's worth of the fifth. Before, each
// gave its room back as it was held, and the held copies grew without
// bound.
func TestMessagesHeldForAHandlerKeepTheirRoom(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const maxSize, window, payloads = 256 << 10, 64 << 10, 8
		var a *cluster.Node
		first := make(chan struct{}, 1)
		a = h.node(cluster.WithMaxMessageSize(maxSize), cluster.WithReceiveWindow(window),
			cluster.WithMessageHandler(func(from cluster.Remote, _ []byte) {
				select {
				case first <- struct{}{}:
				default:
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				a.Request(ctx, from, []byte("?")) // relieves the reader, and waits
			}))
		f := dialFragmenter(t, h, a, "127.0.0.1:1")
		go func() {
			for range payloads {
				f.send(maxSize, maxSize)
				f.start = f.sent.Load()
			}
		}()
		synctest.Wait() // the fake has sent all it may
		assert.Equal(t, cluster.AssemblyLimit(a), cluster.AssemblyHeld(a), "the held payloads gave back their room")
		assert.LessOrEqual(t, f.sent.Load(), cluster.AssemblyLimit(a)+int64(window+wire.MessageOverhead),
			"the fake sent past the budget and a window while the handler held its payloads")
	})
}
