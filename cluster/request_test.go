package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

// echo answers every request with "re: " and its payload.
func echo(_ context.Context, req *cluster.Message) ([]byte, error) {
	return append([]byte("re: "), req.Payload...), nil
}

// testContext is a context for one exchange of a test: long enough never to
// be what ends a healthy one.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func TestRequestGetsTheHandlersReplyOnEveryStack(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node(cluster.WithRequestHandler(echo))
		mesh(t, a, b)
		ctx := testContext(t)

		got, err := a.Request(ctx, remote(b), []byte("ping"))
		require.NoError(t, err)
		assert.Equal(t, "re: ping", string(got))

		// A payload that crosses in fragments, both ways.
		big := bytes.Repeat([]byte("x"), 300<<10)
		got, err = a.Request(ctx, remote(b), big)
		require.NoError(t, err)
		assert.Equal(t, append([]byte("re: "), big...), got)

		// Neither reached the application's Inbox.
		require.NoError(t, a.Send(remote(b), []byte("after")))
		assert.Equal(t, "after", string(receive(t, b).Payload))
	})
}

func TestRequestErrorsAreDistinct(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		fail := func(_ context.Context, req *cluster.Message) ([]byte, error) {
			return nil, fmt.Errorf("no such key %q", req.Payload)
		}
		a, b, c := h.node(), h.node(cluster.WithRequestHandler(fail)), h.node()
		mesh(t, a, b, c)
		ctx := testContext(t)

		_, err := a.Request(ctx, remote(b), []byte("k"))
		var re *cluster.RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, `no such key "k"`, re.Text)
		assert.True(t, re.Remote.Equal(remote(b)), "remote error from %s", re.Remote)

		// c has no handler: it says so at once, whatever the context.
		_, err = a.Request(context.Background(), remote(c), []byte("k"))
		assert.ErrorIs(t, err, cluster.ErrNoHandler)

		_, err = a.Request(ctx, cluster.Remote{IP: []byte{127, 0, 0, 1}, Port: 1}, nil)
		assert.ErrorIs(t, err, cluster.ErrUnknownRemote)

		done, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = a.Request(done, remote(b), []byte("k"))
		assert.ErrorIs(t, err, context.Canceled)

		a.Close()
		_, err = a.Request(ctx, remote(b), []byte("k"))
		assert.ErrorIs(t, err, cluster.ErrClosed)
	})
}

func TestRequestKeepsOrderWithMessages(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		// b's handler looks in its Inbox for the message sent before
		// the request: it must be there already.
		var b *cluster.Node
		inbox := make(chan string, 1)
		handler := func(_ context.Context, req *cluster.Message) ([]byte, error) {
			select {
			case m := <-b.Inbox:
				inbox <- string(m.Payload)
			default:
				inbox <- ""
			}
			return req.Payload, nil
		}
		a := h.node(clustertest.Patient())
		b = h.node(clustertest.Patient(), cluster.WithRequestHandler(handler))
		mesh(t, a, b)
		for i := range 20 {
			msg := fmt.Sprintf("message %d", i)
			require.NoError(t, a.Send(remote(b), []byte(msg)))
			// Each request has a WaitFor of its own: twenty round
			// trips on a loaded machine may outlast one.
			_, err := a.Request(testContext(t), remote(b), []byte("request"))
			require.NoError(t, err)
			assert.Equal(t, msg, <-inbox, "the request overtook the message")
		}
	})
}

func TestQueryOverTenNodesEndsWithTheLastAnswer(t *testing.T) {
	// Eleven nodes a stack: one stack per transport, the codecs in turn.
	forEachTransport(t, func(t *testing.T, h *harness) {
		// Fifty-five handshakes: with the default network timeout, so
		// that a loaded machine does not fail one.
		a := h.node(clustertest.Patient())
		ns := h.nodes(10, clustertest.Patient(), cluster.WithRequestHandler(echo))
		mesh(t, append(ns, a)...)

		// A context that would outlast the test: only the answers can
		// end the query.
		ctx, cancel := context.WithTimeout(context.Background(), 24*60*60*1e9)
		defer cancel()
		answers := a.Query(ctx, []byte("who")).Wait()
		require.NoError(t, ctx.Err(), "the query waited for its context")
		require.Len(t, answers, 10)
		var from []string
		for _, ans := range answers {
			require.NoError(t, ans.Err)
			assert.Equal(t, "re: who", string(ans.Payload))
			from = append(from, ans.From.String())
		}
		assert.ElementsMatch(t, names(ns...), from)
	})
}

func TestQuerySaysWhichRemoteAnsweredWhat(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		fail := func(context.Context, *cluster.Message) ([]byte, error) { return nil, errors.New("nope") }
		// Twelve handshakes, not about time: the default network timeout.
		patient := clustertest.Patient()
		a, ok, bad, none := h.node(patient), h.node(patient, cluster.WithRequestHandler(echo)),
			h.node(patient, cluster.WithRequestHandler(fail)), h.node(patient)
		mesh(t, a, ok, bad, none)
		unknown := cluster.Remote{IP: []byte{127, 0, 0, 1}, Port: 1}

		got := map[string]string{}
		for ans := range a.Query(testContext(t), []byte("x"), remote(ok), remote(bad), remote(none), unknown).Answers() {
			var re *cluster.RemoteError
			switch {
			case ans.Err == nil:
				got[ans.From.String()] = "ok " + string(ans.Payload)
			case errors.As(ans.Err, &re):
				got[ans.From.String()] = "remote " + re.Text
			case errors.Is(ans.Err, cluster.ErrNoHandler):
				got[ans.From.String()] = "no handler"
			case errors.Is(ans.Err, cluster.ErrUnknownRemote):
				got[ans.From.String()] = "unknown"
			default:
				got[ans.From.String()] = "unexpected " + ans.Err.Error()
			}
		}
		assert.Equal(t, map[string]string{
			ok.String():      "ok re: x",
			bad.String():     "remote nope",
			none.String():    "no handler",
			unknown.String(): "unknown",
		}, got)
	})
}

func TestRequestWaitsBehindMessagesThatWaitForInbox(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		// b's Inbox holds one message, and its application reads none
		// until the request is on its way: the messages sent before the
		// request wait in b, and so does the request.
		const sent = 5
		var read atomic.Int32
		handled := make(chan int32, 1)
		a := h.node()
		b := h.node(cluster.WithInboxSize(1), cluster.WithRequestHandler(func(_ context.Context, req *cluster.Message) ([]byte, error) {
			handled <- read.Load()
			return req.Payload, nil
		}))
		mesh(t, a, b)
		for i := range sent {
			require.NoError(t, a.Send(remote(b), []byte(fmt.Sprint(i))))
		}
		answer := eventually(t, waitFor, func() error {
			_, err := a.Request(testContext(t), remote(b), []byte("q"))
			return err
		})
		// read counts the messages the application takes or is about to.
		for i := range sent {
			read.Add(1)
			assert.Equal(t, fmt.Sprint(i), string(receive(t, b).Payload))
		}
		require.NoError(t, answer())
		// The handler ran once the last message was in Inbox, which holds
		// one: the application had taken all the others.
		assert.GreaterOrEqual(t, <-handled, int32(sent-1))
	})
}

func TestALateReplyIsDiscarded(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		started, release := make(chan struct{}, 1), make(chan struct{})
		late := func(_ context.Context, req *cluster.Message) ([]byte, error) {
			if string(req.Payload) == "slow" {
				started <- struct{}{}
				<-release
			}
			return req.Payload, nil
		}
		a, b := h.node(), h.node(cluster.WithRequestHandler(late))
		mesh(t, a, b)

		ctx, cancel := context.WithCancel(context.Background())
		wait := eventually(t, waitFor, func() error {
			_, err := a.Request(ctx, remote(b), []byte("slow"))
			return err
		})
		<-started
		cancel()
		assert.ErrorIs(t, wait(), context.Canceled)
		close(release) // b answers now; a discards the reply

		got, err := a.Request(testContext(t), remote(b), []byte("fast"))
		require.NoError(t, err)
		assert.Equal(t, "fast", string(got))
		require.NoError(t, b.Send(remote(a), []byte("message")))
		assert.Equal(t, "message", string(receive(t, a).Payload), "the late reply reached Inbox")
	})
}

func TestAQueryOfNobodyIsOverAtOnce(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		alone := h.node()
		assert.Empty(t, alone.Query(context.Background(), []byte("anyone?")).Wait())
	})
}

func TestGivingUpOnARequestEndsItsHandlersContext(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		s := newStuck()
		a, b := h.node(), h.node(cluster.WithRequestHandler(s.handle), cluster.WithRequestConcurrency(1))
		mesh(t, a, b)
		for range 3 { // each time in b's one handler slot, which each cancel frees
			ctx, cancel := context.WithCancel(context.Background())
			wait := eventually(t, waitFor, func() error {
				_, err := a.Request(ctx, remote(b), []byte("q"))
				return err
			})
			s.waitStarted(t)
			cancel()
			assert.ErrorIs(t, wait(), context.Canceled)
			assert.ErrorIs(t, s.waitEnded(t), context.Canceled, "the handler's context")
		}
		assert.Equal(t, names(b), remoteNames(a))
	})
}

// A reply reaches its caller even while messages sent before it wait for
// room in the caller's Inbox: an application that reads Inbox itself does
// not wait for its own Request's answer behind the messages it would read
// next.
func TestAReplyDoesNotWaitBehindMessagesForInbox(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		const sent = 5
		a := h.node(cluster.WithInboxSize(1))
		b := h.node(cluster.WithRequestHandler(echo))
		mesh(t, a, b)
		for i := range sent {
			require.NoError(t, b.Send(remote(a), []byte(fmt.Sprint(i))))
		}
		// a reads nothing until its Request returns; b's reply follows
		// b's messages on the wire.
		got, err := a.Request(testContext(t), remote(b), []byte("q"))
		require.NoError(t, err)
		assert.Equal(t, "re: q", string(got))
		for i := range sent {
			assert.Equal(t, fmt.Sprint(i), string(receive(t, a).Payload))
		}
	})
}

// A request that waits for a handler's turn holds up its own remote's
// messages only: another remote's still reach Inbox.
func TestARequestWaitingForAHandlerHoldsUpNoOtherRemote(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		s := newStuck()
		a := h.node(cluster.WithInboxSize(1), cluster.WithRequestHandler(s.handle), cluster.WithRequestConcurrency(1))
		b, c := h.node(), h.node()
		mesh(t, a, b, c)
		received := func(from *cluster.Node, n uint64) func() bool {
			return func() bool {
				st, ok := a.RemoteStats(remote(from))
				return ok && st.MessagesReceived >= n
			}
		}
		// b's first request takes a's one handler slot; its second waits.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var asks []func() error
		for range 2 {
			asks = append(asks, eventually(t, waitFor, func() error {
				_, err := b.Request(ctx, remote(a), []byte("q"))
				return err
			}))
		}
		s.waitStarted(t)
		require.Eventually(t, received(b, 2), waitFor, tick, "both requests reached a")
		// One of c's messages fills a's Inbox, the other waits for room.
		require.NoError(t, c.Send(remote(a), []byte("m1")))
		require.NoError(t, c.Send(remote(a), []byte("m2")))
		require.Eventually(t, received(c, 2), waitFor, tick, "both messages reached a")
		assert.Equal(t, "m1", string(receive(t, a).Payload))
		assert.Equal(t, "m2", string(receive(t, a).Payload), "behind b's waiting request")
		cancel()
		for _, ask := range asks {
			assert.ErrorIs(t, ask(), context.Canceled)
		}
	})
}

// TestRequestsAndRepliesOfEverySizeCrossTheSmallestWindow sends a request
// and gets a reply of the maximum message size through the smallest receive
// window, where a tag charged to the window once left too little room for a
// whole fragment, and the connection carries messages after them. The
// transfer takes a round trip per fragment, hundreds of them, which a
// loaded machine with the race detector stretches to many seconds: the
// nodes and the requests here wait for minutes, as a test does for a hang.
func TestRequestsAndRepliesOfEverySizeCrossTheSmallestWindow(t *testing.T) {
	t.Parallel()
	same := func(_ context.Context, req *cluster.Message) ([]byte, error) { return req.Payload, nil }
	for _, s := range []stack{stacks[0], memStack()} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, s)
			small := cluster.WithReceiveWindow(64 << 10)
			patient := cluster.WithNetworkTimeout(time.Minute)
			a, b := h.node(small, patient), h.node(small, patient, cluster.WithRequestHandler(same))
			mesh(t, a, b)
			for _, size := range []int{64 << 10, 64<<10 + 1, cluster.DefaultMaxMessageSize} {
				big := bytes.Repeat([]byte{byte(size)}, size)
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
				got, err := a.Request(ctx, remote(b), big)
				cancel()
				require.NoError(t, err, "%d bytes", size)
				assert.True(t, bytes.Equal(big, got), "%d bytes came back as %d", size, len(got))
			}
			require.NoError(t, a.Send(remote(b), []byte("after")))
			assert.Equal(t, "after", string(receive(t, b).Payload))
		})
	}
}
