package link

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests run in synctest bubbles over transport/mem: synctest.Wait
// returns once every goroutine is blocked, so a test knows the writer has
// written all it may, and timeouts pass on the bubble's clock.

const testTimeout = 10 * time.Second

// recorder is the node above a link under test: it records what the link
// tells it.
type recorder struct {
	failed chan error    // capacity 1: a link fails once
	closed chan error    // capacity 1: Closed
	exited chan struct{} // closed by Exited

	mu       sync.Mutex // guards the fields below
	expired  []int
	payloads []payload
	parts    []int
	controls []frame
	cancels  []uint64
	pongs    int
	goodbyes int
}

// payload is a payload handed up.
type payload struct {
	b      []byte
	tag    Tag
	owned  bool
	charge int
}

func newRecorder() *recorder {
	return &recorder{failed: make(chan error, 1), closed: make(chan error, 1), exited: make(chan struct{})}
}

func (r *recorder) Payload(b []byte, t Tag, owned bool, charge int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, payload{bytes.Clone(b), t, owned, charge})
	return nil
}

func (r *recorder) First(total int) {}

func (r *recorder) Part(n int, done bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts = append(r.parts, n)
	return 0
}

func (r *recorder) Control(k wire.Kind, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.controls = append(r.controls, frame{k, bytes.Clone(body)})
	return nil
}

func (r *recorder) Cancel(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancels = append(r.cancels, id)
}

func (r *recorder) Pong(time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pongs++
}

func (r *recorder) Opened() {}

func (r *recorder) Goodbye() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.goodbyes++
}

func (r *recorder) Closed(err error)      { r.closed <- err }
func (r *recorder) Exited()               { close(r.exited) }
func (r *recorder) WriteFailed(err error) { r.failed <- err }

func (r *recorder) Expired(discarded int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expired = append(r.expired, discarded)
}

// testConfig is the configuration of a link under test: readers that
// take over run on goroutines the test waits for.
func testConfig(t *testing.T) Config {
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // last: after the links close
	return Config{
		Timeout:    func() time.Duration { return testTimeout },
		Silence:    func() time.Duration { return time.Hour },
		Go:         func(f func()) { wg.Go(f) },
		SendQueue:  1 << 20,
		Window:     wire.InitialWindow,
		GrantAt:    wire.InitialWindow / 4,
		MaxMessage: 1 << 20,
		MaxTags:    4 << 10,
		LastKind:   wire.KindLast,
	}
}

// newLink returns a link over a new mem connection, whose remote end the
// test reads, with first frames and credit as given.
func newLink(t *testing.T, first []byte, credit int) (*Link, *recorder, net.Conn) {
	t.Helper()
	nw := mem.NewNetwork()
	ln, err := nw.Listen("10.0.0.1:7946")
	require.NoError(t, err)
	defer ln.Close()
	local, err := nw.Dial(context.Background(), ln.Addr().String())
	require.NoError(t, err)
	remote, err := ln.Accept()
	require.NoError(t, err)
	r := newRecorder()
	l := New(local, NewReadBuffer(local), r, testConfig(t), first)
	l.credit = credit
	t.Cleanup(func() {
		l.Close()
		remote.Close()
		l.StopWriters()
	})
	return l, r, remote
}

// frame is one frame as the remote reads it.
type frame struct {
	kind wire.Kind
	body []byte
}

// readFrames reads frames from c until it has n, failing on an error.
func readFrames(t *testing.T, c net.Conn, n int) []frame {
	t.Helper()
	var fs []frame
	for len(fs) < n {
		h := make([]byte, wire.HeaderSize)
		_, err := io.ReadFull(c, h)
		require.NoError(t, err)
		k, size, err := wire.ParseHeaderUpTo(h, 1<<30, wire.KindLast)
		require.NoError(t, err)
		body := make([]byte, size)
		_, err = io.ReadFull(c, body)
		require.NoError(t, err)
		fs = append(fs, frame{k, body})
	}
	return fs
}

// kinds lists the kinds of fs.
func kinds(fs []frame) []wire.Kind {
	var ks []wire.Kind
	for _, f := range fs {
		ks = append(ks, f.kind)
	}
	return ks
}

func TestFirstFramesGoOutBeforeAnythingQueuedLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := wire.AppendHeader(nil, wire.KindWelcome, 0)
		l, _, remote := newLink(t, first, wire.InitialWindow)
		_, ok := l.Queue(nil, []byte("data"))
		require.True(t, ok)
		l.Control(wire.KindPing, nil)
		fs := readFrames(t, remote, 3)
		assert.Equal(t, wire.KindWelcome, fs[0].kind)
		assert.ElementsMatch(t, []wire.Kind{wire.KindPing, wire.KindData}, kinds(fs[1:]))
	})
}

func TestWritesRespectTheRemotesWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, 100)
		for range 3 {
			_, ok := l.Queue(nil, make([]byte, 40))
			require.True(t, ok)
		}
		readFrames(t, remote, 2)
		synctest.Wait()
		msgs, queued := l.Queued()
		assert.Equal(t, 1, msgs, "two messages fit a window of 100 bytes, the third waits")
		assert.Equal(t, wire.HeaderSize+40, queued)

		require.NoError(t, l.Opened(40))
		fs := readFrames(t, remote, 1)
		assert.Equal(t, wire.KindData, fs[0].kind)
		sent, bytes := l.Sent()
		assert.Equal(t, uint64(3), sent)
		assert.Equal(t, uint64(120), bytes)
	})
}

func TestWindowPastTheMaximumIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := newLink(t, nil, wire.InitialWindow)
		assert.Error(t, l.Opened(MaxWindow))
	})
}

func TestLargePayloadGoesInFragmentsThatControlFramesOvertake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		payload := bytes.Repeat([]byte("0123456789abcdef"), 3*wire.MaxFragment/16+7)
		l, _, remote := newLink(t, nil, 0) // nothing goes until the window opens
		_, ok := l.Queue(nil, payload)
		require.True(t, ok)
		require.NoError(t, l.Opened(wire.MaxFragment)) // one fragment's worth
		first := readFrames(t, remote, 1)[0]
		require.Equal(t, wire.KindFirst, first.kind)
		f, err := wire.ParseFirst(first.body[:wire.FirstSize])
		require.NoError(t, err)
		assert.Equal(t, uint32(len(payload)), f.Total)

		l.Control(wire.KindPing, nil) // queued mid-transfer
		require.NoError(t, l.Opened(len(payload)))
		got := append([]byte(nil), first.body[wire.FirstSize:]...)
		fs := readFrames(t, remote, 4) // the ping and three More frames
		assert.Equal(t, wire.KindPing, fs[0].kind, "a control frame waits for one write at most")
		for _, f := range fs[1:] {
			require.Equal(t, wire.KindMore, f.kind)
			assert.LessOrEqual(t, len(f.body), wire.MaxFragment)
			got = append(got, f.body...)
		}
		assert.Equal(t, payload, got)
		msgs, _ := l.Sent()
		assert.Equal(t, uint64(1), msgs, "a fragmented payload is one message")
	})
}

func TestTagGoesBeforeItsPayloadAndCostsNoWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, 10)
		tag := wire.AppendHeader(nil, wire.KindRequest, wire.RequestSize)
		tag = wire.Request{ID: 7}.Append(tag)
		_, ok := l.Queue(tag, make([]byte, 10))
		require.True(t, ok)
		fs := readFrames(t, remote, 2)
		require.Equal(t, []wire.Kind{wire.KindRequest, wire.KindData}, kinds(fs))
		r, err := wire.ParseRequest(fs[0].body)
		require.NoError(t, err)
		assert.Equal(t, uint64(7), r.ID)
		_, bytes := l.Sent()
		assert.Equal(t, uint64(10), bytes, "a tag counts neither against the window nor as traffic")
	})
}

func TestFullQueueHandsBackAChannelThatClosesWhenTheWriterTakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, 0)
		l.cfg.SendQueue = 100
		_, ok := l.Queue(nil, make([]byte, 90))
		require.True(t, ok)
		drained, ok := l.Queue(nil, make([]byte, 90))
		require.True(t, ok)
		require.NotNil(t, drained, "the queue is full")
		select {
		case <-drained:
			t.Fatal("drained before the writer took anything")
		default:
		}
		require.NoError(t, l.Opened(90))
		<-drained
		drained, ok = l.Queue(nil, make([]byte, 90))
		require.True(t, ok)
		assert.Nil(t, drained, "queued once there is room")
		readFrames(t, remote, 1)
	})
}

func TestLeaveSaysGoodbyeAfterTheDataAndTakesTheAcknowledgement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, wire.InitialWindow)
		_, ok := l.Queue(nil, []byte("last words"))
		require.True(t, ok)
		require.True(t, l.BeginLeave())
		assert.False(t, l.BeginLeave(), "one goodbye")
		_, ok = l.Queue(nil, []byte("too late"))
		assert.False(t, ok, "no data after a goodbye")
		l.Flush(nil)
		assert.Zero(t, l.Bye())
		fs := readFrames(t, remote, 2)
		assert.Equal(t, []wire.Kind{wire.KindData, wire.KindBye}, kinds(fs))
		_, err := remote.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "the leaver half-closes after its goodbye")

		acked := make(chan error, 1)
		go func() { acked <- l.AwaitAck(time.Now().Add(testTimeout), testTimeout) }()
		assert.True(t, l.AckReceived())
		assert.NoError(t, <-acked)
	})
}

func TestGoodbyeUnacknowledgedTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, wire.InitialWindow)
		require.True(t, l.BeginLeave())
		l.Bye()
		readFrames(t, remote, 1)
		start := time.Now()
		assert.ErrorIs(t, l.AwaitAck(start.Add(testTimeout), testTimeout), ErrAckTimeout)
		assert.GreaterOrEqual(t, time.Since(start), testTimeout)
	})
}

func TestAcknowledgementNeverAskedForIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := newLink(t, nil, wire.InitialWindow)
		assert.False(t, l.AckReceived())
	})
}

func TestRemoteGoodbyeIsAcknowledgedAfterWhatIsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		_, ok := l.Queue(nil, []byte("still yours"))
		require.True(t, ok)
		assert.False(t, l.GotBye())
		assert.Equal(t, GotBye, l.State())
		fs := readFrames(t, remote, 2)
		assert.Equal(t, []wire.Kind{wire.KindData, wire.KindByeAck}, kinds(fs))
		<-l.Done()
		assert.Empty(t, r.expired)
	})
}

func TestCrossingGoodbyesAcknowledgeEachOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := newLink(t, nil, wire.InitialWindow)
		require.True(t, l.BeginLeave())
		l.Bye()
		assert.True(t, l.GotBye(), "the remote's goodbye crossed ours")
		assert.NoError(t, l.AwaitAck(time.Now().Add(testTimeout), testTimeout))
	})
}

func TestAcknowledgementThatCannotGoOutExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, _ := newLink(t, nil, 0) // the remote never opens its window
		_, ok := l.Queue(nil, []byte("stuck"))
		require.True(t, ok)
		start := time.Now()
		l.GotBye()
		<-l.Done()
		assert.Equal(t, testTimeout, time.Since(start))
		assert.Equal(t, []int{1}, r.expired, "the message queued is discarded")
	})
}

func TestStalledLinkFailsWritesAfterTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, _ := newLink(t, nil, MaxWindow)
		start := time.Now()
		// More than the connection buffers, and nobody reads.
		_, ok := l.Queue(nil, make([]byte, 2*mem.BufferSize))
		require.True(t, ok)
		err := <-r.failed
		assert.True(t, IsTimeout(err), "%v", err)
		assert.GreaterOrEqual(t, time.Since(start), testTimeout)
		assert.LessOrEqual(t, time.Since(start), 2*testTimeout)
	})
}

func TestAbortDiscardsUnlessLeaving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := newLink(t, nil, 0)
		_, ok := l.Queue(nil, []byte("lost"))
		require.True(t, ok)
		leaving, discarded := l.Abort()
		assert.False(t, leaving)
		assert.Equal(t, 1, discarded)

		l2, _, _ := newLink(t, nil, 0)
		require.True(t, l2.BeginLeave())
		leaving, discarded = l2.Abort()
		assert.True(t, leaving)
		assert.Zero(t, discarded)
	})
}

func TestIdleLinkHasNoWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, wire.InitialWindow)
		l.Control(wire.KindPing, nil)
		readFrames(t, remote, 1)
		synctest.Wait()
		l.mu.Lock()
		writing := l.writing
		l.mu.Unlock()
		assert.False(t, writing, "the writer returns once it runs out of work")
	})
}

func TestStalledCountsHowLongDataWaitsForAShutWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, 100)
		_, ok := l.Queue(nil, make([]byte, 60))
		require.True(t, ok)
		readFrames(t, remote, 1)
		synctest.Wait()
		assert.Zero(t, l.Stalled(), "nothing waits")

		_, ok = l.Queue(nil, make([]byte, 60)) // 40 bytes of credit left
		require.True(t, ok)
		synctest.Wait()
		time.Sleep(time.Minute)
		assert.Equal(t, time.Minute, l.Stalled())

		require.NoError(t, l.Opened(10)) // not enough for the waiting frame
		assert.Equal(t, time.Minute, l.Stalled(), "a window too small for the next frame is still shut")
		require.NoError(t, l.Opened(10))
		assert.Zero(t, l.Stalled())
		readFrames(t, remote, 1)
	})
}
