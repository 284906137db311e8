package cluster

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTagsFloodDoesNotDelayRemoteAdded plays a remote that sends tags
// updates as fast as it can while the application's callback is slow: the
// queue to the callbacks keeps the newest tags of the remote only, so the
// RemoteAdded of an honest node waits for one tags callback, not for the
// flood.
func TestTagsFloodDoesNotDelayRemoteAdded(t *testing.T) {
	const updates = 1000
	hostile := netip.MustParseAddrPort("127.0.0.1:1")
	honest := netip.MustParseAddrPort("127.0.0.1:2")
	var e events
	e.start()
	defer func() { e.stop(); <-e.done }()

	var mu sync.Mutex
	var calls []string
	release, busy := make(chan struct{}), make(chan struct{})
	added := func(r Remote) {
		mu.Lock()
		calls = append(calls, "+"+r.String())
		mu.Unlock()
		if r.key() == hostile {
			close(busy)
			<-release // a slow application
		}
	}
	tagged := func(r Remote, tags map[string]string) {
		mu.Lock()
		calls = append(calls, "tags "+tags["n"])
		mu.Unlock()
	}
	e.added.Store(&added)
	e.tagsChanged.Store(&tagged)

	e.push(event{added: true, key: hostile})
	<-busy
	for i := range updates {
		e.push(event{tagged: true, key: hostile, tags: map[string]string{"n": string(rune('0' + i%10))}})
	}
	e.push(event{added: true, key: honest})
	e.mu.Lock()
	queued := len(e.queue)
	e.mu.Unlock()
	assert.Equal(t, 2, queued, "the queue holds more than the newest tags and the honest remote")
	close(release)
	e.stop()
	<-e.done

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"+" + hostile.String(), "tags 9", "+" + honest.String()}, calls)
}

// The gate counts the hooks that run by the call of Close they started
// after, and once sealed lets none start, while those that run still
// return and are counted out.
func TestHookGateCountsByEpochAndSeals(t *testing.T) {
	var g hookGate
	early, ok := g.enter()
	assert.True(t, ok)
	first := g.closing()
	late, ok := g.enter()
	assert.True(t, ok)
	second := g.closing()
	before, since := g.running(first)
	assert.Equal(t, [2]int{1, 1}, [2]int{before, since}, "the first Close waits for the hook started after it")
	before, since = g.running(second)
	assert.Equal(t, [2]int{2, 0}, [2]int{before, since}, "the second Close waits for neither")

	quiet := g.quiet.wait()
	g.exit(late)
	select {
	case <-quiet:
	default:
		t.Fatal("a hook returned without telling Close")
	}
	g.seal()
	_, ok = g.enter()
	assert.False(t, ok, "a hook started after the seal")
	g.exit(early)
	before, since = g.running(first)
	assert.Equal(t, [2]int{0, 0}, [2]int{before, since})
}
