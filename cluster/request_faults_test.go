package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
)

// stuck is a request handler that never answers: it reports each request
// it gets, then waits for its context, and reports why that ended.
type stuck struct {
	started chan struct{}
	ended   chan error
}

func newStuck() *stuck {
	return &stuck{started: make(chan struct{}, 16), ended: make(chan error, 16)}
}

func (s *stuck) handle(ctx context.Context, _ *cluster.Message) ([]byte, error) {
	s.started <- struct{}{}
	<-ctx.Done()
	s.ended <- context.Cause(ctx)
	return nil, ctx.Err()
}

// waitStarted waits until the handler has a request.
func (s *stuck) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-s.started:
	case <-time.After(waitFor):
		t.Fatal("the request never reached the handler")
	}
}

// waitEnded waits until the context of a handler ends and returns its cause.
func (s *stuck) waitEnded(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.ended:
		return err
	case <-time.After(detection):
		t.Fatal("the handler's context did not end")
		return nil
	}
}

// eventually runs f on a goroutine and returns a function that waits for
// its error, at most d.
func eventually(t *testing.T, d time.Duration, f func() error) func() error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return func() error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(d):
			t.Fatalf("no answer within %v", d)
			return nil
		}
	}
}

func TestRequestFailsDistinctlyWhenEitherSideEndsIt(t *testing.T) {
	// How a request in progress, from a to b, can end, what a's Request
	// returns, and what ends b's handler's context (nil when b's node
	// closes, which ends it in its own way).
	ways := []struct {
		name    string
		end     func(h *harness, a, b *cluster.Node)
		err     error
		handler error
	}{
		{"requester closes", func(_ *harness, a, _ *cluster.Node) { a.Close() }, cluster.ErrClosed, cluster.ErrRemoteLeft},
		{"answerer closes", func(_ *harness, _, b *cluster.Node) { b.Close() }, cluster.ErrRemoteLeft, nil},
		{"requester closes the remote", func(_ *harness, a, b *cluster.Node) { a.CloseRemote(remote(b)) }, cluster.ErrRemoteLeft, cluster.ErrRemoteLeft},
		{"answerer closes the remote", func(_ *harness, a, b *cluster.Node) { b.CloseRemote(remote(a)) }, cluster.ErrRemoteLeft, cluster.ErrRemoteLeft},
		{"connection reset", func(h *harness, a, b *cluster.Node) { h.faults.Break(a.String(), b.String()) }, cluster.ErrRemoteLost, cluster.ErrRemoteLost},
		{"black hole", func(h *harness, a, b *cluster.Node) { h.faults.Blackhole(a.String(), b.String()) }, cluster.ErrRemoteLost, cluster.ErrRemoteLost},
		{"one way cut", func(h *harness, a, b *cluster.Node) { h.faults.Cut(b.String(), a.String()) }, cluster.ErrRemoteLost, cluster.ErrRemoteLost},
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			forEachTransport(t, func(t *testing.T, h *harness) {
				s := newStuck()
				a, b := h.node(), h.node(cluster.WithRequestHandler(s.handle))
				mesh(t, a, b)
				ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
				defer cancel()
				wait := eventually(t, detection, func() error {
					_, err := a.Request(ctx, remote(b), []byte("q"))
					return err
				})
				s.waitStarted(t)
				way.end(h, a, b)
				err := wait()
				assert.ErrorIs(t, err, way.err)
				assert.NoError(t, ctx.Err(), "the request waited for its context")
				cause := s.waitEnded(t)
				if way.handler != nil {
					assert.ErrorIs(t, cause, way.handler)
				}
				h.faults.Heal()
			})
		})
	}
}

func TestQueryEndsWhenEveryRemoteAnsweredOrFailed(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		s := newStuck()
		a := h.node()
		ok := h.node(cluster.WithRequestHandler(echo))
		holed := h.node(cluster.WithRequestHandler(s.handle))
		leaving := h.node(cluster.WithRequestHandler(newStuck().handle))
		mesh(t, a, ok, holed, leaving)
		ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
		defer cancel()

		q := a.Query(ctx, []byte("q"))
		first := <-q.Answers()
		require.NoError(t, first.Err)
		assert.Equal(t, ok.String(), first.From.String())
		s.waitStarted(t)
		h.faults.Partition(names(a), names(holed))
		leaving.Close()

		got := map[string]error{}
		for _, ans := range q.Wait() {
			got[ans.From.String()] = ans.Err
		}
		assert.NoError(t, ctx.Err(), "the query waited for its context")
		assert.ErrorIs(t, got[holed.String()], cluster.ErrRemoteLost)
		assert.ErrorIs(t, got[leaving.String()], cluster.ErrRemoteLeft)
		assert.Len(t, got, 2)
		h.faults.Heal()
	})
}

func TestQueryGivesTheContextsErrorToWhoeverHasNotAnswered(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		s := newStuck()
		a, ok, slow := h.node(), h.node(cluster.WithRequestHandler(echo)), h.node(cluster.WithRequestHandler(s.handle))
		mesh(t, a, ok, slow)
		ctx, cancel := context.WithCancel(context.Background())
		q := a.Query(ctx, []byte("q"), remote(ok), remote(slow))
		require.NoError(t, (<-q.Answers()).Err)
		s.waitStarted(t)
		cancel()
		rest := q.Wait()
		require.Len(t, rest, 1)
		assert.Equal(t, slow.String(), rest[0].From.String())
		assert.ErrorIs(t, rest[0].Err, context.Canceled)
	})
}

func TestRequestsCrossShapedAndDelayedLinks(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node(cluster.WithRequestHandler(echo))
		mesh(t, a, b)
		h.faults.Shape(a.String(), b.String(), slowLink)
		h.faults.Shape(b.String(), a.String(), slowLink)
		defer func() {
			h.faults.Shape(a.String(), b.String(), fault.Link{})
			h.faults.Shape(b.String(), a.String(), fault.Link{})
		}()
		ctx := testContext(t)

		// Requests and messages at once, both larger than a fragment.
		big := bytes.Repeat([]byte("y"), 200<<10)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 3 {
			wg.Go(func() {
				got, err := a.Request(ctx, remote(b), big)
				if err == nil && !bytes.Equal(got, append([]byte("re: "), big...)) {
					err = errors.New("wrong reply")
				}
				errs <- err
			})
		}
		wg.Go(func() { errs <- a.Send(remote(b), big) })
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		assert.Equal(t, big, receive(t, b).Payload)

		h.faults.Delay(a.String(), b.String(), 20*time.Millisecond)
		got, err := a.Request(ctx, remote(b), []byte("later"))
		require.NoError(t, err)
		assert.Equal(t, "re: later", string(got))
	})
}

func TestRequestsWaitingForAHandlerHoldTheSenderToTheWindow(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		// b runs one handler, which never returns: the requests after it
		// wait in b, within the window it grants a, and then in a's send
		// queue, until a Request can no longer queue.
		const window, size, most = 64 << 10, 16 << 10, 200
		s := newStuck()
		a := h.node(cluster.WithSendQueueSize(window))
		b := h.node(cluster.WithRequestHandler(s.handle), cluster.WithRequestConcurrency(1), cluster.WithReceiveWindow(window))
		mesh(t, a, b)
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, most)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		payload := make([]byte, size)
		for range most {
			wg.Go(func() {
				_, err := a.Request(ctx, remote(b), payload)
				errs <- err
			})
		}
		select {
		case err := <-errs:
			require.ErrorIs(t, err, cluster.ErrTimeout, "the first request to fail")
		case <-time.After(detection):
			t.Fatalf("%d requests of %d bytes queued past a window of %d and a queue of %d", most, size, window, window)
		}
		waitRemotes(t, a, b)
		waitRemotes(t, b, a)
	})
}
