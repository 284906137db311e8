package cluster_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
)

// lateHooks counts the hooks of a node that start after its Close has
// returned, which none may.
type lateHooks struct {
	closed  atomic.Bool // set once Close has returned
	late    atomic.Int32
	removed atomic.Int32 // RemoteRemoved calls
}

// start is called first thing by every hook.
func (l *lateHooks) start(kind string) {
	if l.closed.Load() {
		l.late.Add(1)
	}
	if kind == "RemoteRemoved" {
		l.removed.Add(1)
	}
}

// options makes every kind of hook of a node call start, and call hook
// too: hook gets the kind of the hook that runs.
func (l *lateHooks) options(hook func(kind string)) []cluster.Option {
	run := func(kind string) { l.start(kind); hook(kind) }
	return []cluster.Option{
		cluster.WithRemoteAdded(func(cluster.Remote) { run("RemoteAdded") }),
		cluster.WithRemoteRemoved(func(cluster.Remote) { run("RemoteRemoved") }),
		cluster.WithRemoteChanged(func([]cluster.Remote) { run("RemoteChanged") }),
		cluster.WithRemoteTagsChanged(func(cluster.Remote, map[string]string) { run("RemoteTagsChanged") }),
		cluster.WithObserver(cluster.ObserverFunc(func(e cluster.Event) { run("Observer " + e.Kind.String()) })),
		cluster.WithMessageHandler(func(cluster.Remote, []byte) { run("message handler") }),
		cluster.WithRequestHandler(func(context.Context, *cluster.Message) ([]byte, error) {
			run("request handler")
			return nil, nil
		}),
	}
}

// Close called from inside each kind of hook returns, without waiting for
// the hook: the node is closed then, Inbox closes, and no hook starts
// after it. An Observer is called on many goroutines of the node: on the
// one admitting a remote, on a connection's reader (a pong, a remote that
// left), on the goroutine saying goodbye to a remote (while Close already
// runs).
func TestCloseFromEachHookReturns(t *testing.T) {
	hooks := map[string]func(a, b *cluster.Node){
		"RemoteAdded":       func(a, b *cluster.Node) {},
		"RemoteChanged":     func(a, b *cluster.Node) {},
		"RemoteRemoved":     func(a, b *cluster.Node) { b.Close() },
		"RemoteTagsChanged": func(a, b *cluster.Node) { _ = b.SetTags(map[string]string{"k": "v"}) },
		"Observer added":    func(a, b *cluster.Node) {},
		"Observer pong":     func(a, b *cluster.Node) {},
		"Observer removed":  func(a, b *cluster.Node) { b.Close() },
		"Observer goodbye":  func(a, b *cluster.Node) { go a.Close() },
		"message handler":   func(a, b *cluster.Node) { _ = b.Send(remote(a), []byte("close")) },
		"request handler": func(a, b *cluster.Node) {
			go func() { _, _ = b.Request(context.Background(), remote(a), []byte("close")) }()
		},
	}
	for kind, trigger := range hooks {
		t.Run(kind, func(t *testing.T) {
			forEachCodecInABubble(t, func(t *testing.T, h *harness) {
				var l lateHooks
				var first atomic.Bool
				returned := make(chan struct{})
				var a *cluster.Node
				a = h.node(l.options(func(k string) {
					if k != kind || !first.CompareAndSwap(false, true) {
						return
					}
					a.Close()
					l.closed.Store(true)
					close(returned)
				})...)
				b := h.node()
				require.NoError(t, b.Add(a.String()))
				trigger(a, b)
				select {
				case <-returned:
				case <-time.After(waitFor):
					t.Fatalf("Close from %s did not return", kind)
				}
				assert.Empty(t, a.Remotes())
				for range a.Inbox {
				}
				b.Close()
				synctest.Wait()
				assert.Zero(t, l.late.Load(), "hooks started after Close returned")
			})
		})
	}
}

// A node's Close from a callback of another node, while the first node's
// own dispatcher runs a callback, returns without waiting for that
// callback, and none of the first node's callbacks start after it: not
// even those of the removal that Close caused, queued behind the one that
// runs.
func TestCloseFromAnotherNodesCallbackReturns(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		var l lateHooks
		release, blocked := make(chan struct{}), make(chan struct{})
		b := h.node(l.options(func(kind string) {
			if kind == "RemoteAdded" {
				close(blocked)
				<-release
			}
		})...)
		returned := make(chan struct{})
		a := h.node(cluster.WithRemoteAdded(func(cluster.Remote) {
			<-blocked
			b.Close()
			l.closed.Store(true)
			close(returned)
		}))
		require.NoError(t, a.Add(b.String()))
		select {
		case <-returned:
		case <-time.After(waitFor):
			t.Fatal("Close from another node's callback did not return")
		}
		assert.Zero(t, l.removed.Load(), "RemoteRemoved ran before the callback ahead of it returned")
		for range b.Inbox {
		}
		close(release)
		synctest.Wait()
		assert.Zero(t, l.late.Load(), "hooks started after Close returned")
	})
}

// Close from the application returns while hooks of the node that were
// running when it was called block: it does not wait for them, and no hook
// starts once it has returned, not even the callbacks of the removals that
// Close caused, queued behind the one that blocks. It waits for the hooks
// that start after it was called: the Observer hears of the goodbye.
func TestCloseReturnsWhileHooksBlockAndNoHookStartsAfter(t *testing.T) {
	forEachCodecInABubble(t, func(t *testing.T, h *harness) {
		var l lateHooks
		release := make(chan struct{})
		blocked := make(chan string, 2)
		var a *cluster.Node
		var goodbye atomic.Bool
		a = h.node(l.options(func(kind string) {
			switch kind {
			case "RemoteAdded", "request handler":
				blocked <- kind
				<-release
			case "Observer goodbye":
				goodbye.Store(true)
			}
		})...)
		b := h.node()
		require.NoError(t, b.Add(a.String()))
		go func() { _, _ = b.Request(context.Background(), remote(a), []byte("block")) }()
		assert.ElementsMatch(t, []string{"RemoteAdded", "request handler"}, []string{<-blocked, <-blocked})
		require.NoError(t, b.Send(remote(a), []byte("while a closes")))

		a.Close()
		l.closed.Store(true)
		assert.Zero(t, l.removed.Load(), "RemoteRemoved ran before the callback ahead of it returned")
		assert.True(t, goodbye.Load(), "Close returned before its goodbye was observed")
		assert.Empty(t, a.Remotes())
		close(release)
		for range a.Inbox {
		}
		synctest.Wait()
		assert.Zero(t, l.late.Load(), "hooks started after Close returned")
	})
}
