package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

// errStop is the cause the tests of this file give their contexts.
var errStop = errors.New("stop: the caller's own reason")

// ending is a way for a caller's context to end: cancelled with a cause, or
// past a deadline with a cause. Its end makes a context that has ended,
// and its err is the context's error.
type ending struct {
	name string
	end  func() context.Context
	err  error
}

var endings = []ending{
	{"cancelled with a cause", func() context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errStop)
		return ctx
	}, context.Canceled},
	{"past a deadline with a cause", func() context.Context {
		ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), errStop)
		_ = cancel // the deadline has passed: nothing is left to release
		return ctx
	}, context.DeadlineExceeded},
}

// drain reads n's Inbox until n closes.
func drain(n *cluster.Node) {
	for range n.Inbox {
	}
}

// assertEndedBy checks the one rule of the package's context-taking calls:
// the error matches both the context's error and its cause.
func assertEndedBy(t *testing.T, e ending, err error, what string) {
	t.Helper()
	assert.ErrorIs(t, err, e.err, "%s, its context %s", what, e.name)
	assert.ErrorIs(t, err, errStop, "%s, its context %s", what, e.name)
}

// Every call that takes a context fails, when it ends, with an error that
// matches both the context's error and its cause, whichever way it ended.
func TestContextErrorsMatchTheErrorAndTheCause(t *testing.T) {
	t.Parallel()
	for _, e := range endings {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, memStack())
			// A network timeout no step of the test reaches, so that
			// every call ends by its context.
			slow := cluster.WithNetworkTimeout(2 * waitFor)
			a := h.node(slow, cluster.WithSendQueueSize(64<<10))
			b := h.node(slow, cluster.WithInboxSize(1), cluster.WithReceiveWindow(64<<10),
				cluster.WithRequestHandler(func(ctx context.Context, _ *cluster.Message) ([]byte, error) {
					<-ctx.Done() // never answers: the caller gives up
					return nil, ctx.Err()
				}))
			c := h.node(slow)
			mesh(t, b, c)
			// a's dials to c hang: a hears of c from b, so its mesh is
			// not complete, and an Add of c waits.
			h.faults.Blackhole(a.String(), c.String())
			require.NoError(t, a.Add(b.String()))

			_, err := a.Request(e.end(), remote(b), []byte("q"))
			assertEndedBy(t, e, err, "Request")
			_, err = cluster.RequestValue[string](e.end(), a, remote(b), "q")
			assertEndedBy(t, e, err, "RequestValue")
			for _, ans := range a.Query(e.end(), []byte("q")).Wait() {
				assertEndedBy(t, e, ans.Err, "a query's Answer")
			}
			assertEndedBy(t, e, a.Wait(e.end(), never), "Wait")
			assertEndedBy(t, e, a.WaitMesh(e.end()), "WaitMesh")
			assertEndedBy(t, e, a.AddContext(e.end(), c.String()), "AddContext, waiting for a dial under way")
			d := h.node(slow)
			h.faults.Blackhole(a.String(), d.String())
			assertEndedBy(t, e, a.AddContext(e.end(), d.String()), "AddContext, dialling")

			// b reads nothing, so a's queue to b fills and SendContext
			// waits for room.
			var sendErr error
			for range 1 << 12 {
				if sendErr = a.SendContext(e.end(), remote(b), make([]byte, 1<<10)); sendErr != nil {
					break
				}
			}
			assertEndedBy(t, e, sendErr, "SendContext")
			go drain(b) // so that a's goodbye, behind its queue, gets through when the test ends
		})
	}
}

// A context that ends while the call waits ends it as one that had ended
// before: Request and Query, whose remote is working on the answer.
func TestContextEndsARequestUnderWay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	ctx, cancel := context.WithCancelCause(context.Background())
	var qctx context.Context
	qctx, qcancel := context.WithTimeoutCause(context.Background(), 50*time.Millisecond, errStop)
	defer qcancel()
	b := h.node(cluster.WithRequestHandler(func(hctx context.Context, req *cluster.Message) ([]byte, error) {
		if string(req.Payload) == "cancel me" {
			cancel(errStop) // the caller gives up while the handler runs
		}
		<-hctx.Done()
		return nil, hctx.Err()
	}))
	a := h.node()
	mesh(t, a, b)

	_, err := a.Request(ctx, remote(b), []byte("cancel me"))
	assertEndedBy(t, endings[0], err, "Request")
	for _, ans := range a.Query(qctx, []byte("wait")).Wait() {
		assertEndedBy(t, endings[1], ans.Err, "a query's Answer")
	}
}
