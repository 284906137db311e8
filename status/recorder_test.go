package status

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/peerweave/peerweave/cluster"
)

func TestRecorderKeepsTheLastEventsNewestFirst(t *testing.T) {
	r := NewRecorder(3)
	k := netip.MustParseAddrPort("10.0.0.2:7946")
	for i := range 5 {
		r.Observe(cluster.Event{Kind: cluster.EventPeerList, Addr: k, Count: i})
		r.Observe(cluster.Event{Kind: cluster.EventPong, Addr: k, RTT: time.Millisecond})
	}
	var texts []string
	for _, e := range r.events() {
		texts = append(texts, e.Text)
		assert.Equal(t, "peer list", e.Kind)
		assert.Equal(t, k.String(), e.Remote)
	}
	assert.Equal(t, []string{"peer list 10.0.0.2:7946 of 4", "peer list 10.0.0.2:7946 of 3", "peer list 10.0.0.2:7946 of 2"}, texts)

	assert.Empty(t, NewRecorder(0).events())
	assert.Len(t, NewRecorder(0).ring, DefaultEvents)
}

func TestRecorderCountsWaitsAndErrorsUntilARemoteLeaves(t *testing.T) {
	r := NewRecorder(0)
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	k := netip.MustParseAddrPort("10.0.0.2:7946")

	r.Observe(cluster.Event{Kind: cluster.EventHandshakeFailed, Addr: k, Err: fmt.Errorf("duplicate: %w", cluster.ErrRejected)})
	assert.Equal(t, trace{}, r.traceOf(k.String()), "a duplicate connection declined is no failure")

	r.Observe(cluster.Event{Kind: cluster.EventQueueFull, Addr: k, Bytes: 10})
	r.Observe(cluster.Event{Kind: cluster.EventQueueFull, Addr: k, Bytes: 10})
	r.Observe(cluster.Event{Kind: cluster.EventRemoved, Addr: k, Err: cluster.ErrSilence})
	assert.Equal(t, trace{sendWaits: 2, waitAt: now, errAt: now}, r.traceOf(k.String()))
	assert.True(t, r.events()[0].Error)

	r.Observe(cluster.Event{Kind: cluster.EventRemoved, Addr: k, Err: cluster.ErrRemoteLeave})
	assert.Equal(t, trace{}, r.traceOf(k.String()), "forgotten once it left")
	assert.False(t, r.events()[0].Error, "a goodbye is no failure")
}

func TestRecorderTracksBoundedRemotes(t *testing.T) {
	r := NewRecorder(1)
	for i := range maxTracked + 10 {
		k := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 7946)
		r.Observe(cluster.Event{Kind: cluster.EventQueueFull, Addr: k})
	}
	assert.Len(t, r.remotes, maxTracked)
	assert.Len(t, r.events(), 1)
}

func TestClip(t *testing.T) {
	assert.Equal(t, "short", clip("short", 8))
	assert.Equal(t, "abcde…", clip("abcdefghijk", 8))
	assert.Equal(t, "ééé…", clip("éééééé", 9), "cut at a rune boundary")
	assert.LessOrEqual(t, len(clip("éééééé", 9)), 9)
}
