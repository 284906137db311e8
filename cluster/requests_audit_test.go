package cluster_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/mem"
)

// gauge counts the handlers running, and the most that ran at once.
type gauge struct {
	mu                     sync.Mutex
	running, most, started int
	release                chan struct{}
}

// handle is a RequestHandler that runs until released.
func (g *gauge) handle(ctx context.Context, _ *cluster.Message) ([]byte, error) {
	g.mu.Lock()
	g.running++
	g.started++
	g.most = max(g.most, g.running)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running--
		g.mu.Unlock()
	}()
	select {
	case <-g.release:
		return []byte("done"), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// state returns the handlers running, started, and the most at once.
func (g *gauge) state() (running, started, most int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, g.started, g.most
}

// The node runs at most WithRequestConcurrency handlers at once,
// DefaultRequestConcurrency when given 0; the requests beyond wait and run
// once a handler returns.
func TestAuditRequestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ given, limit int }{{2, 2}, {0, cluster.DefaultRequestConcurrency}} {
		t.Run(strconv.Itoa(c.given), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, memStack())
			g := &gauge{release: make(chan struct{})}
			b := h.node(cluster.WithRequestHandler(g.handle), cluster.WithRequestConcurrency(c.given))
			a := h.node()
			mesh(t, a, b)
			ctx := testContext(t)
			var wg sync.WaitGroup
			for range c.limit + 1 {
				wg.Go(func() {
					reply, err := a.Request(ctx, remote(b), []byte("q"))
					assert.NoError(t, err)
					assert.Equal(t, "done", string(reply))
				})
			}
			// Every request has reached b, and the limit's worth run.
			require.Eventually(t, func() bool {
				running, _, _ := g.state()
				return running == c.limit && b.Stats().MessagesReceived == uint64(c.limit+1)
			}, waitFor, tick)
			running, started, most := g.state()
			assert.Equal(t, c.limit, running)
			assert.Equal(t, c.limit, started, "a request beyond the limit started")
			assert.Equal(t, c.limit, most)
			g.release <- struct{}{} // one returns: the last starts
			require.Eventually(t, func() bool { _, started, _ := g.state(); return started == c.limit+1 }, waitFor, tick)
			close(g.release)
			wg.Wait()
			_, _, most = g.state()
			assert.Equal(t, c.limit, most)
		})
	}
}

// A payload over the maximum message size fails a Request and a query's
// Answer with ErrMessageTooLarge, as Send, and a Broadcast of it reports
// an EventBroadcastFailed with that error; nothing is sent.
func TestAuditTooLargePayloadsFailEveryCall(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	h := newHarness(t, memStack())
	ev := clustertest.NewEvents()
	a := h.node(cluster.WithMaxMessageSize(limit), ev.Option())
	b := h.node(cluster.WithRequestHandler(echo))
	mesh(t, a, b)
	ctx := testContext(t)
	big := make([]byte, limit+1)
	_, err := a.Request(ctx, remote(b), big)
	assert.ErrorIs(t, err, cluster.ErrMessageTooLarge, "Request")
	answers := a.Query(ctx, big).Wait()
	require.Len(t, answers, 1)
	assert.ErrorIs(t, answers[0].Err, cluster.ErrMessageTooLarge, "a query's Answer")
	assert.ErrorIs(t, cluster.SendValue(a, remote(b), big), cluster.ErrMessageTooLarge, "SendValue")
	a.Broadcast(big)
	e := ev.Wait(t, "broadcast failed", clustertest.Caused(clustertest.Is(cluster.EventBroadcastFailed, nil), cluster.ErrMessageTooLarge))
	assert.Equal(t, limit+1, e.Bytes)

	// The limit itself is a size a node sends.
	require.NoError(t, a.Send(remote(b), make([]byte, limit)))
	assert.Len(t, receive(t, b).Payload, limit, "the first message b gets is the one within the limit")
	assert.Equal(t, uint64(1), a.Stats().MessagesSent, "nothing else was sent")
}

// Query.Wait returns the answers that Answers had not yet given; Answers
// gives each remote's once, and is closed when every one answered.
func TestAuditQueryWaitReturnsOnlyWhatAnswersHadNotGiven(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	ns := h.nodes(3, cluster.WithRequestHandler(echo))
	a := h.node()
	mesh(t, append(ns, a)...)
	q := a.Query(testContext(t), []byte("q"))
	first, ok := <-q.Answers()
	require.True(t, ok)
	require.NoError(t, first.Err)
	rest := q.Wait()
	require.Len(t, rest, 2)
	seen := []string{first.From.String()}
	for _, ans := range rest {
		require.NoError(t, ans.Err)
		assert.Equal(t, "re: q", string(ans.Payload))
		assert.NotContains(t, seen, ans.From.String(), "a remote answered twice")
		seen = append(seen, ans.From.String())
	}
	_, open := <-q.Answers()
	assert.False(t, open, "Answers is closed once every remote answered")
}

// A remote the node does not know answers a Query with ErrUnknownRemote at
// once, whatever the context, and the query still hears of the others.
func TestAuditQueryOfAnUnknownRemoteAnswersAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node(cluster.WithRequestHandler(echo))
	mesh(t, a, b)
	stranger := cluster.Remote{IP: net.IPv4(10, 9, 9, 9), Port: 7946}
	done := make(chan []cluster.Answer, 1)
	go func() { done <- a.Query(context.Background(), []byte("q"), stranger, remote(b)).Wait() }()
	select {
	case answers := <-done:
		require.Len(t, answers, 2)
		for _, ans := range answers {
			if ans.From.Equal(stranger) {
				assert.ErrorIs(t, ans.Err, cluster.ErrUnknownRemote)
			} else {
				assert.NoError(t, ans.Err)
				assert.True(t, ans.From.Equal(remote(b)))
			}
		}
	case <-time.After(waitFor):
		t.Fatal("a query of an unknown remote waited")
	}
}

// A single message larger than the send queue is accepted once the queue
// is empty, and delivered.
func TestAuditAMessageLargerThanTheQueueIsTakenWhenItIsEmpty(t *testing.T) {
	t.Parallel()
	const queue = 16 << 10
	h := newHarness(t, memStack())
	a, b := h.node(cluster.WithSendQueueSize(queue)), h.node()
	mesh(t, a, b)
	payload := make([]byte, 8*queue)
	payload[len(payload)-1] = 7
	require.NoError(t, a.SendContext(testContext(t), remote(b), payload))
	got := receive(t, b).Payload
	require.Len(t, got, len(payload))
	assert.Equal(t, byte(7), got[len(got)-1])
}

// A node does not accept a payload over its maximum message size, even one
// that arrives in fragments: the peer that sends it is disconnected, with
// ErrProtocol, and nothing of it reaches Inbox.
func TestAuditAPayloadOverTheReceiversLimitDropsItsSender(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	ev := clustertest.NewEvents()
	a := h.node(cluster.WithMaxMessageSize(1 << 20))
	b := h.node(cluster.WithMaxMessageSize(64<<10), ev.Option())
	mesh(t, a, b)
	require.NoError(t, a.Send(remote(b), make([]byte, 200<<10)))
	assertCause(t, cluster.ErrProtocol, ev.WaitRemoved(t, a), "b, sent a payload over its limit")
	select {
	case m := <-b.Inbox:
		t.Fatalf("b accepted %d bytes over its limit of 64 KiB", len(m.Payload))
	default:
	}
}

// Wait returns at once when the condition already holds, and WaitMesh at
// once for a node that has heard of nobody.
func TestAuditWaitsThatHoldAlreadyReturnAtOnce(t *testing.T) {
	t.Parallel()
	n := memNode(t, mem.NewNetwork(), "10.0.0.1:0")
	done := make(chan error, 2)
	go func() { done <- n.Wait(context.Background(), func([]cluster.Remote) bool { return true }) }()
	go func() { done <- n.WaitMesh(context.Background()) }()
	for range 2 {
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(waitFor):
			t.Fatal("a wait whose condition held did not return")
		}
	}
}

// Add takes an address with an empty host as this machine's, 127.0.0.1.
func TestAuditAddOfAnEmptyHostMeansThisMachine(t *testing.T) {
	t.Parallel()
	h := clustertest.NewHarness(t, clustertest.TCPTransports())
	a, b := h.Node(), h.Node()
	require.NoError(t, a.Add(":"+strconv.Itoa(b.Addr().Port)))
	require.Len(t, a.Remotes(), 1)
	assert.True(t, a.Remotes()[0].Equal(remote(b)), "a's remote is %s, b is %s", a.Remotes()[0], b)
}

// The handler's context ends when nobody waits for the answer any more:
// the requester is removed (here, it closes), or the handler's node closes.
func TestAuditAHandlersContextEndsWhenNobodyWaits(t *testing.T) {
	t.Parallel()
	for _, closing := range []string{"requester", "handler's node"} {
		t.Run(closing, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, memStack())
			started, ended := make(chan struct{}), make(chan error, 1)
			b := h.node(cluster.WithRequestHandler(func(ctx context.Context, _ *cluster.Message) ([]byte, error) {
				close(started)
				<-ctx.Done()
				ended <- ctx.Err()
				return nil, ctx.Err()
			}))
			a := h.node()
			mesh(t, a, b)
			failed := make(chan error, 1)
			go func() {
				_, err := a.Request(context.Background(), remote(b), []byte("q"))
				failed <- err
			}()
			<-started
			if closing == "requester" {
				a.Close()
				assert.ErrorIs(t, <-failed, cluster.ErrClosed, "the requester's Request")
			} else {
				b.Close()
				assert.ErrorIs(t, <-failed, cluster.ErrRemoteLeft, "the requester's Request")
			}
			select {
			case err := <-ended:
				assert.Error(t, err)
			case <-time.After(waitFor):
				t.Fatal("the handler's context did not end")
			}
		})
	}
}

// With WithMessageHandler, Inbox receives nothing, and Close still closes
// it.
func TestAuditMessageHandlerNodeStillClosesInbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	got := make(chan string, 1)
	a := h.node(cluster.WithMessageHandler(func(_ cluster.Remote, p []byte) { got <- string(p) }))
	b := h.node()
	mesh(t, a, b)
	require.NoError(t, b.Send(remote(a), []byte("x")))
	assert.Equal(t, "x", <-got)
	a.Close()
	_, open := <-a.Inbox
	assert.False(t, open, "Inbox received a message or stayed open")
}

// Messages that cannot go out before a goodbye's deadline are discarded:
// an EventDiscarded with ErrLocalLeave says how many, and Stats counts them
// as dropped.
func TestAuditDiscardedAtAGoodbyeIsAnEvent(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		ev := clustertest.NewEvents()
		a := h.node(ev.Option())
		b := h.node(cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10)) // reads nothing
		mesh(t, a, b)
		fillQueues(a, b)
		queued, ok := a.RemoteStats(remote(b))
		require.True(t, ok)
		require.Positive(t, queued.QueuedMessages, "b's window held messages back")
		a.CloseRemote(remote(b))
		e := ev.Wait(t, "discarded", clustertest.Is(cluster.EventDiscarded, b))
		assert.ErrorIs(t, e.Err, cluster.ErrLocalLeave)
		assert.Equal(t, queued.QueuedMessages, e.Count)
		assert.Equal(t, uint64(e.Count), a.Stats().MessagesDropped)
	})
}

// CloseRemote of a remote cut off waits for its acknowledgement at most
// the network timeout, and its EventGoodbye then matches ErrTimeout.
func TestAuditAGoodbyeNobodyAcknowledgesTimesOut(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		ev := clustertest.NewEvents()
		a, b := h.node(ev.Option()), h.node()
		mesh(t, a, b)
		h.faults.Blackhole(a.String(), b.String())
		start := time.Now()
		a.CloseRemote(remote(b))
		assert.LessOrEqual(t, time.Since(start), a.NetworkTimeout())
		e := ev.Wait(t, "goodbye", clustertest.Is(cluster.EventGoodbye, b))
		assert.ErrorIs(t, e.Err, cluster.ErrTimeout)
		assert.ErrorIs(t, a.Send(remote(b), []byte("x")), cluster.ErrUnknownRemote)
	})
}

// An address from a peer list whose dial times out is dialled twice more,
// and WaitMesh returns once the third has failed.
func TestAuditAPeerListAddressThatTimesOutIsDialledThreeTimes(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		// Hour-long healthy intervals: no periodic peer list names c
		// again meanwhile.
		slow := cluster.WithHealthyInterval(time.Hour)
		a, b, c := h.node(slow), h.node(slow), h.node(slow)
		mesh(t, b, c)
		h.faults.Blackhole(a.String(), c.String())
		require.NoError(t, a.Add(b.String()))
		start := time.Now()
		require.NoError(t, a.WaitMesh(testContext(t)))
		assert.Equal(t, 3, h.faults.Dials(a.String(), c.String()), "a's dials of c")
		assert.GreaterOrEqual(t, time.Since(start), 3*a.NetworkTimeout(), "WaitMesh returned before the third dial failed")
		assert.Equal(t, []string{b.String()}, remoteNames(a))
	})
}

// A Remote in its IPv4 form and in its IPv4-in-IPv6 form are the same
// remote to every call: Send, Request, RemoteStats, Info.
func TestAuditBothFormsOfAnIPv4RemoteReachIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node(cluster.WithRequestHandler(echo))
	mesh(t, a, b)
	addr := b.Addr()
	for _, r := range []cluster.Remote{{IP: addr.IP.To4(), Port: addr.Port}, {IP: addr.IP.To16(), Port: addr.Port}} {
		require.NoError(t, a.Send(r, []byte("x")), "Send to %#v", r.IP)
		assert.Equal(t, "x", string(receive(t, b).Payload))
		_, err := a.Request(testContext(t), r, []byte("q"))
		assert.NoError(t, err, "Request to %#v", r.IP)
		_, ok := a.RemoteStats(r)
		assert.True(t, ok, "RemoteStats of %#v", r.IP)
		_, ok = a.Info(r)
		assert.True(t, ok, "Info of %#v", r.IP)
	}
}

// A query that names one remote twice still ends as soon as the remote has
// answered, not when its context does.
func TestAuditAQueryNamingARemoteTwiceEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node(cluster.WithRequestHandler(echo))
	mesh(t, a, b)
	ctx, cancel := context.WithTimeoutCause(context.Background(), waitFor, errStop)
	defer cancel()
	for _, ans := range a.Query(ctx, []byte("q"), remote(b), remote(b)).Wait() {
		assert.NoError(t, ans.Err)
	}
	assert.NoError(t, ctx.Err(), "the query waited for its context")
}
