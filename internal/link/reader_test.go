package link

import (
	"bytes"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/internal/wire"
)

// reading starts l's reader on a goroutine the test waits for.
func reading(t *testing.T, l *Link) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.ReadLoop()
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
}

// raw appends a frame of kind k and body to b.
func raw(b []byte, k wire.Kind, body []byte) []byte {
	return append(wire.AppendHeader(b, k, len(body)), body...)
}

// write writes frames to c, as the remote.
func write(t *testing.T, c net.Conn, frames []byte) {
	t.Helper()
	_, err := c.Write(frames)
	require.NoError(t, err)
}

// fragments returns payload as a First frame and More frames.
func fragments(payload []byte) [][]byte {
	first := wire.First{Total: uint32(len(payload))}.Append(nil)
	fs := [][]byte{raw(nil, wire.KindFirst, append(first, payload[:wire.MaxFragment]...))}
	for rest := payload[wire.MaxFragment:]; len(rest) > 0; {
		n := min(len(rest), wire.MaxFragment)
		fs = append(fs, raw(nil, wire.KindMore, rest[:n]))
		rest = rest[n:]
	}
	return fs
}

func TestFragmentsAreReassembledPastInterleavedControlFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		l.granted.Store(1 << 20)
		reading(t, l)
		payload := bytes.Repeat([]byte("fragmented "), 20000) // about 3.4 fragments
		fs := fragments(payload)
		require.Len(t, fs, 4)
		write(t, remote, fs[0])
		write(t, remote, raw(nil, wire.KindPing, nil))
		write(t, remote, fs[1])
		write(t, remote, raw(nil, wire.KindPeers, []byte("a peer list")))
		write(t, remote, append(fs[2], fs[3]...))
		assert.Equal(t, wire.KindPong, readFrames(t, remote, 1)[0].kind, "the ping is answered mid-payload")
		synctest.Wait()

		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.payloads, 1)
		got := r.payloads[0]
		assert.Equal(t, payload, got.b)
		assert.True(t, got.owned, "a reassembled payload is the node's")
		assert.Equal(t, []int{wire.MaxFragment, wire.MaxFragment, wire.MaxFragment, len(payload) - 3*wire.MaxFragment}, r.parts)
		assert.Equal(t, []frame{{wire.KindPeers, []byte("a peer list")}}, r.controls)
		msgs, n := l.Received()
		assert.Equal(t, uint64(1), msgs)
		assert.Equal(t, uint64(len(payload)), n)
	})
}

func TestFragmentsBreakingTheProtocolEndTheLink(t *testing.T) {
	for name, frames := range map[string][]byte{
		"more without a first":  raw(nil, wire.KindMore, []byte("x")),
		"data inside fragments": append(fragments(make([]byte, wire.MaxFragment+1))[0], raw(nil, wire.KindData, nil)...),
		"first past the total":  raw(nil, wire.KindFirst, append(wire.First{Total: 2}.Append(nil), "abc"...)),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, r, remote := newLink(t, nil, wire.InitialWindow)
				l.granted.Store(1 << 20)
				reading(t, l)
				write(t, remote, frames)
				err := <-r.closed
				assert.ErrorAs(t, err, new(ProtocolError))
				<-r.exited
			})
		})
	}
}

func TestReceiveWindowIsEnforcedAndGrantedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		l.granted.Store(100)
		l.cfg.GrantAt = 50
		reading(t, l)
		write(t, remote, raw(nil, wire.KindData, make([]byte, 60)))
		synctest.Wait()
		l.Release(30)
		l.Release(30) // 60 released: past GrantAt
		w := readFrames(t, remote, 1)[0]
		require.Equal(t, wire.KindWindow, w.kind)
		inc, err := wire.ParseWindow(w.body)
		require.NoError(t, err)
		assert.Equal(t, uint32(60), inc.Increment)

		write(t, remote, raw(nil, wire.KindData, make([]byte, 100))) // exactly the window
		synctest.Wait()
		write(t, remote, raw(nil, wire.KindData, make([]byte, 1))) // one byte past it
		err = <-r.closed
		assert.ErrorAs(t, err, new(ProtocolError))
		assert.ErrorContains(t, err, "flow control")
	})
}

func TestWindowFrameOpensOurWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, remote := newLink(t, nil, 0)
		reading(t, l)
		_, ok := l.Queue(nil, []byte("waits for the window"))
		require.True(t, ok)
		write(t, remote, raw(nil, wire.KindWindow, WindowBody(100)))
		assert.Equal(t, wire.KindData, readFrames(t, remote, 1)[0].kind)
	})
}

func TestTagsFramePayloadsAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		reading(t, l)
		var frames []byte
		frames = raw(frames, wire.KindRequest, wire.Request{ID: 1}.Append(nil))
		frames = raw(frames, wire.KindData, []byte("question"))
		frames = raw(frames, wire.KindReply, wire.Reply{ID: 2, Status: wire.ReplyError}.Append(nil))
		frames = raw(frames, wire.KindData, []byte("answer"))
		frames = raw(frames, wire.KindData, []byte("plain"))
		frames = raw(frames, wire.KindCancel, wire.Cancel{ID: 1}.Append(nil))
		write(t, remote, frames)
		synctest.Wait()

		r.mu.Lock()
		defer r.mu.Unlock()
		require.Len(t, r.payloads, 3)
		assert.Equal(t, Tag{Kind: wire.KindRequest, ID: 1}, r.payloads[0].tag)
		assert.Equal(t, "question", string(r.payloads[0].b))
		assert.Equal(t, Tag{Kind: wire.KindReply, ID: 2, Status: wire.ReplyError}, r.payloads[1].tag)
		assert.Equal(t, Tag{}, r.payloads[2].tag, "a tag covers one payload")
		assert.Equal(t, []uint64{1}, r.cancels)
	})
}

func TestTagBreakingTheProtocolEndsTheLink(t *testing.T) {
	request := raw(nil, wire.KindRequest, wire.Request{ID: 1}.Append(nil))
	for name, frames := range map[string][]byte{
		"tag after tag":       append(append([]byte(nil), request...), request...),
		"tag of another size": raw(nil, wire.KindRequest, []byte("short")),
		"tag in fragments":    append(fragments(make([]byte, wire.MaxFragment+1))[0], request...),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, r, remote := newLink(t, nil, wire.InitialWindow)
				l.granted.Store(1 << 20)
				reading(t, l)
				write(t, remote, frames)
				assert.ErrorAs(t, <-r.closed, new(ProtocolError))
			})
		})
	}
}

func TestPingIsTimedByItsPong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		reading(t, l)
		l.Ping()
		assert.Equal(t, wire.KindPing, readFrames(t, remote, 1)[0].kind)
		time.Sleep(30 * time.Millisecond) // the round trip, on the bubble's clock
		write(t, remote, raw(nil, wire.KindPong, nil))
		write(t, remote, raw(nil, wire.KindPong, nil)) // an answer to no ping: ignored
		synctest.Wait()
		last, smoothed := l.RTT()
		assert.Equal(t, 30*time.Millisecond, last)
		assert.Equal(t, 30*time.Millisecond, smoothed)
		r.mu.Lock()
		assert.Equal(t, 1, r.pongs)
		r.mu.Unlock()
	})
}

func TestRemoteGoodbyeReadEndsTheReaderAfterTheAcknowledgement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		reading(t, l)
		_, ok := l.Queue(nil, []byte("before you go"))
		require.True(t, ok)
		readFrames(t, remote, 1)
		write(t, remote, raw(nil, wire.KindBye, nil))
		assert.Equal(t, wire.KindByeAck, readFrames(t, remote, 1)[0].kind)
		remote.(interface{ CloseWrite() error }).CloseWrite()
		<-r.exited
		r.mu.Lock()
		assert.Equal(t, 1, r.goodbyes)
		r.mu.Unlock()
		select {
		case err := <-r.closed:
			t.Fatalf("a goodbye is no failure: %v", err)
		default:
		}
	})
}

func TestCrossingGoodbyesBetweenTwoLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, ra, connB := newLink(t, nil, wire.InitialWindow)
		b := New(connB, NewReadBuffer(connB), newRecorder(), testConfig(t), nil)
		t.Cleanup(func() {
			b.Close()
			b.StopWriters()
		})
		reading(t, a)
		reading(t, b)
		require.True(t, a.BeginLeave())
		require.True(t, b.BeginLeave())
		a.Bye()
		b.Bye()
		now := time.Now()
		assert.NoError(t, a.AwaitAck(now.Add(testTimeout), testTimeout))
		assert.NoError(t, b.AwaitAck(now.Add(testTimeout), testTimeout))
		a.Close()
		b.Close()
		<-ra.exited
	})
}

func TestAcknowledgementOfNoGoodbyeEndsTheLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r, remote := newLink(t, nil, wire.InitialWindow)
		reading(t, l)
		write(t, remote, raw(nil, wire.KindByeAck, nil))
		assert.ErrorAs(t, <-r.closed, new(ProtocolError))
	})
}

func TestEveryMessageCostsTheOverheadInTheWindow(t *testing.T) {
	const ov = wire.MessageOverhead
	t.Run("sending", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l, _, remote := newLink(t, nil, 2*ov+10)
			l.cfg.Overhead = ov
			for range 3 {
				_, ok := l.Queue(nil, nil)
				require.True(t, ok)
			}
			readFrames(t, remote, 2)
			synctest.Wait()
			msgs, _ := l.Queued()
			assert.Equal(t, 1, msgs, "two empty messages fit a window of two overheads, the third waits")
			require.NoError(t, l.Opened(ov-10))
			readFrames(t, remote, 1)
		})
	})
	t.Run("receiving", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l, r, remote := newLink(t, nil, wire.InitialWindow)
			l.cfg.Overhead = ov
			l.granted.Store(2 * ov)
			reading(t, l)
			write(t, remote, raw(raw(nil, wire.KindData, nil), wire.KindData, nil))
			synctest.Wait()
			r.mu.Lock()
			require.Len(t, r.payloads, 2)
			assert.Equal(t, ov, r.payloads[0].charge, "an empty message holds the overhead")
			r.mu.Unlock()
			write(t, remote, raw(nil, wire.KindData, nil))
			err := <-r.closed
			assert.ErrorContains(t, err, "flow control", "a third empty message overdraws the window")
		})
	})
	t.Run("fragments", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l, r, remote := newLink(t, nil, wire.InitialWindow)
			l.cfg.Overhead = ov
			l.granted.Store(1 << 20)
			reading(t, l)
			for _, f := range fragments(make([]byte, wire.MaxFragment+1)) {
				write(t, remote, f)
			}
			synctest.Wait()
			r.mu.Lock()
			defer r.mu.Unlock()
			assert.Equal(t, []int{wire.MaxFragment + ov, 1}, r.parts, "a fragmented message pays the overhead once")
		})
	})
}
