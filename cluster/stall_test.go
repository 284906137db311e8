package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// These tests are about remotes whose window stays shut (stall.go): they
// run in synctest bubbles, where the healthy intervals they wait for cost
// no wall time and durations come out exact.

// fillQueue broadcasts msg from a until a Broadcast waits, and returns how
// long that one took.
func fillQueue(t *testing.T, a *cluster.Node, msg []byte) time.Duration {
	t.Helper()
	for range 64 {
		start := time.Now()
		a.Broadcast(msg)
		if took := time.Since(start); took > 0 {
			return took
		}
	}
	t.Fatal("the queues never filled")
	return 0
}

// Four fakes that answer pings but never open their window are suspended
// once it has stayed shut for two healthy intervals plus the network
// timeout, at the next health check: from then on Broadcast
// does not wait for them, Query and Request answer at once with ErrStalled,
// and the calls that waited for them end with it; Send still waits as
// documented, and nobody is removed. A fake that opens its window is
// resumed.
func TestWindowlessRemotesAreSuspendedNotWaitedFor(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const healthy, timeout = cluster.DefaultHealthyInterval, cluster.DefaultNetworkTimeout
		settings := []cluster.Option{cluster.WithHealthyInterval(healthy), cluster.WithNetworkTimeout(timeout)}
		ev := newEvents()
		a := h.node(append(settings, ev.Option(), cluster.WithSendQueueSize(64<<10))...)
		b := h.node(append(settings, cluster.WithRequestHandler(echo))...)
		mesh(t, a, b)
		fakes := make([]fmt.Stringer, 4)
		for i := range fakes {
			fakes[i] = dialWindowless(t, h, a, fmt.Sprintf("127.0.0.1:%d", i+1))
		}
		waitKnows(t, waitFor, a, append(fakes, b)...)
		fake := cluster.Remote{IP: []byte{127, 0, 0, 1}, Port: 1} // fakes[0]

		// Calls made while the fakes' queues have room: their requests go
		// out, and nobody answers them.
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		before := a.Query(ctx, []byte("before"))
		requested := make(chan error, 1)
		go func() {
			_, err := a.Request(ctx, fake, []byte("before"))
			requested <- err
		}()
		synctest.Wait() // the request is out, and waits for its answer

		msg := make([]byte, 16<<10)
		shut := time.Now()
		took := fillQueue(t, a, msg)
		assert.GreaterOrEqual(t, took, timeout, "before the suspension, Broadcast waits for full queues")

		// The request waiting for a fake ends when the fake is suspended:
		// at the first health check two healthy intervals plus the
		// network timeout after its window shut.
		const limit = 2*healthy + timeout
		err := <-requested
		assert.ErrorIs(t, err, cluster.ErrStalled)
		assert.ErrorIs(t, err, cluster.ErrTimeout)
		suspendedAfter := time.Since(shut)
		assert.GreaterOrEqual(t, suspendedAfter, limit)
		assert.LessOrEqual(t, suspendedAfter, limit+healthy)
		for _, f := range fakes {
			e := ev.Wait(t, "suspended "+f.String(), clustertest.Is(cluster.EventSuspended, f))
			assert.ErrorIs(t, e.Err, cluster.ErrStalled)
			assert.Positive(t, e.Count, "no message waited for %s", f)
			assert.GreaterOrEqual(t, e.Wait, limit)
		}
		answers := before.Wait()
		require.Len(t, answers, 5)
		for _, ans := range answers {
			if ans.From.String() == b.String() {
				assert.NoError(t, ans.Err)
			} else {
				assert.ErrorIs(t, ans.Err, cluster.ErrStalled, "%s answered", ans.From)
			}
		}

		// From now on, nothing waits for them: Broadcast does not even
		// start a wait.
		waits := len(ev.Find(clustertest.Is(cluster.EventQueueFull, nil)))
		start := time.Now()
		a.Broadcast(msg)
		assert.Zero(t, time.Since(start), "Broadcast waited for suspended remotes")
		assert.Len(t, ev.Find(clustertest.Is(cluster.EventQueueFull, nil)), waits, "Broadcast waited for suspended remotes")
		clustertest.WaitCount(t, ev, 4, clustertest.Caused(clustertest.Is(cluster.EventBroadcastFailed, nil), cluster.ErrStalled))

		start = time.Now()
		answers = a.Query(ctx, []byte("after")).Wait()
		assert.Zero(t, time.Since(start), "Query waited for suspended remotes")
		require.Len(t, answers, 5)
		stalled := 0
		for _, ans := range answers {
			if errors.Is(ans.Err, cluster.ErrStalled) {
				stalled++
			}
		}
		assert.Equal(t, 4, stalled)
		_, err = a.Request(ctx, fake, []byte("after"))
		assert.ErrorIs(t, err, cluster.ErrStalled)
		assert.Zero(t, time.Since(start), "Request waited for a suspended remote")

		// Send keeps its promise: it waits for room, then times out.
		start = time.Now()
		err = a.Send(fake, msg)
		assert.ErrorIs(t, err, cluster.ErrTimeout)
		assert.NotErrorIs(t, err, cluster.ErrStalled)
		assert.GreaterOrEqual(t, time.Since(start), timeout)

		// Nobody was removed, and each suspension was a warning, once.
		assert.Empty(t, ev.Find(clustertest.Is(cluster.EventRemoved, nil)))
		assert.Equal(t, clustertest.Names(append(fakes, b)...), remoteNames(a))
		assert.Len(t, h.Logs.Find("WARN", "remote suspended"), 4)

		// A fake that opens its window is resumed, and waited for again.
		fakes[0].(*windowless).grant(1 << 20)
		resumed := ev.Wait(t, "resumed "+fakes[0].String(), clustertest.Is(cluster.EventResumed, fakes[0]))
		assert.Positive(t, resumed.Wait)
		require.NoError(t, a.Send(fake, []byte("flows again")))
		short, cancelShort := context.WithTimeout(ctx, time.Second)
		defer cancelShort()
		_, err = a.Request(short, fake, []byte("again"))
		assert.ErrorIs(t, err, context.DeadlineExceeded, "a resumed remote is waited for")
		assert.NotErrorIs(t, err, cluster.ErrStalled)
	})
}

// A Broadcast already waiting for a windowless remote ends when the remote
// is suspended, before its network timeout; and a remote that opens its
// window by a byte each healthy interval, too little for the message at
// the head of its queue, is as windowless as one that never does.
func TestABroadcastWaitingForAWindowlessRemoteEndsAtItsSuspension(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		ev := newEvents()
		a := h.node(ev.Option(), cluster.WithSendQueueSize(64<<10))
		fake := dialWindowless(t, h, a, "127.0.0.1:1")
		waitKnows(t, waitFor, a, fake)
		stop := make(chan struct{})
		trickled := make(chan struct{})
		go func() {
			defer close(trickled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(clustertest.Healthy):
					fake.grant(1)
				}
			}
		}()
		defer func() { close(stop); <-trickled }()

		// The first wait, which begins as the window shuts, runs its
		// course; the next one ends at the suspension, two healthy
		// intervals plus the network timeout after the window shut.
		msg := make([]byte, 16<<10)
		took := fillQueue(t, a, msg)
		assert.GreaterOrEqual(t, took, clustertest.Timeout)
		start := time.Now()
		a.Broadcast(msg)
		assert.Less(t, time.Since(start), clustertest.Timeout, "the wait outlived the suspension")
		e := ev.Wait(t, "broadcast failed", clustertest.Caused(clustertest.Is(cluster.EventBroadcastFailed, fake), cluster.ErrStalled))
		assert.NotErrorIs(t, e.Err, context.Canceled)
		suspended := ev.Wait(t, "suspended", clustertest.Is(cluster.EventSuspended, fake))
		assert.GreaterOrEqual(t, suspended.Wait, 2*clustertest.Healthy+clustertest.Timeout)
		time.Sleep(5 * clustertest.Healthy) // five more bytes of window
		assert.Empty(t, ev.Find(clustertest.Is(cluster.EventResumed, nil)), "a byte of window resumed it")
	})
}

// An application that reads its Inbox slowly, but each time within the
// limit (two healthy intervals plus the network timeout), shuts its node's
// window toward the sender again and again, and is never suspended. One that stops reading is suspended, and
// resumed as soon as it reads again: then its requests are answered again.
func TestASlowReaderIsNotSuspendedAndAStoppedOneResumes(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		const healthy, timeout, window = time.Second, 5 * time.Second, wire.InitialWindow
		settings := []cluster.Option{cluster.WithHealthyInterval(healthy), cluster.WithNetworkTimeout(timeout)}
		ev := newEvents()
		a := h.node(append(settings, ev.Option(), cluster.WithSendQueueSize(window))...)
		// b grants back each message's bytes as it goes into Inbox, which
		// holds one.
		b := h.node(append(settings, cluster.WithInboxSize(1), cluster.WithReceiveWindow(window),
			cluster.WithRequestHandler(echo))...)
		mesh(t, a, b)
		ctx, cancel := context.WithCancel(context.Background())
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			for ctx.Err() == nil {
				a.SendContext(ctx, remote(b), make([]byte, window/4))
			}
		}()
		defer func() { cancel(); <-sent }()

		for range 10 {
			time.Sleep(2*healthy + timeout - healthy) // one healthy interval short of the limit
			<-b.Inbox
		}
		require.NotEmpty(t, ev.Find(clustertest.Is(cluster.EventQueueFull, b)), "a never waited for b's window")
		assert.Empty(t, ev.Find(clustertest.Is(cluster.EventSuspended, nil)), "a slow reader was suspended")

		// b's application stops reading.
		e := ev.Wait(t, "suspended", clustertest.Is(cluster.EventSuspended, b))
		assert.ErrorIs(t, e.Err, cluster.ErrStalled)
		start := time.Now()
		_, err := a.Request(ctx, remote(b), []byte("now?"))
		assert.ErrorIs(t, err, cluster.ErrStalled)
		assert.Zero(t, time.Since(start))

		// It reads again.
		<-b.Inbox
		ev.Wait(t, "resumed", clustertest.Is(cluster.EventResumed, b))
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			for range b.Inbox {
			}
		}()
		cancel()
		<-sent
		reply, err := a.Request(context.Background(), remote(b), []byte("now"))
		require.NoError(t, err)
		assert.Equal(t, "re: now", string(reply))
		assert.Empty(t, ev.Find(clustertest.Is(cluster.EventRemoved, b)))
		b.Close()
		<-drained
	})
}
