package cluster

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConn is a connection from a source address, for the gate's tests:
// the gate reads only its remote address.
type fakeConn struct {
	net.Conn
	from *net.TCPAddr
	id   int
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.from }

// fakeSource makes the connections of one source address.
type fakeSource struct {
	ip    string
	count int
}

func (s *fakeSource) conn() *fakeConn {
	s.count++
	return &fakeConn{from: &net.TCPAddr{IP: net.ParseIP(s.ip), Port: 1000 + s.count}, id: s.count}
}

// fullGate returns a gate whose every slot is taken, by sources 10.0.0.1
// to 10.0.0.8, each at its cap, and those sources.
func fullGate(t *testing.T, now time.Time) (*gate, []*fakeSource) {
	g := &gate{wake: make(chan struct{}, 1)}
	var srcs []*fakeSource
	for i := range maxHandshakes / maxHandshakesPerSource {
		s := &fakeSource{ip: fmt.Sprintf("10.0.0.%d", i+1)}
		srcs = append(srcs, s)
		for range maxHandshakesPerSource {
			start, closed := g.enter(s.conn(), now, time.Second)
			require.True(t, start)
			require.Nil(t, closed)
		}
	}
	return g, srcs
}

func TestGateHoldsConnectionsOverItsCaps(t *testing.T) {
	now := time.Now()
	g, srcs := fullGate(t, now)
	assert.Equal(t, maxHandshakes, g.peak)
	assert.Equal(t, maxHandshakesPerSource, g.peakFrom)

	// Over the global cap, from a new source, and over a source's own.
	newcomer := (&fakeSource{ip: "10.0.1.1"}).conn()
	start, closed := g.enter(newcomer, now, time.Second)
	assert.False(t, start)
	assert.Nil(t, closed)
	a := srcs[0]
	more := a.conn()
	start, _ = g.enter(more, now, time.Second)
	assert.False(t, start)
	assert.Equal(t, 2, g.waiting)

	// A slot that source a frees goes to the source first in turn that may
	// start one: the newcomer, then a.
	next, expired := g.leave(srcs[1].conn(), now)
	assert.Empty(t, expired)
	assert.Same(t, newcomer, next)
	next, _ = g.leave(srcs[2].conn(), now)
	assert.Nil(t, next, "a, at its cap, took a slot")
	next, _ = g.leave(a.conn(), now)
	assert.Same(t, more, next)
	assert.Equal(t, 0, g.waiting)
	assert.LessOrEqual(t, g.peak, maxHandshakes)
	assert.LessOrEqual(t, g.peakFrom, maxHandshakesPerSource)
}

func TestGateServesWaitingSourcesInTurn(t *testing.T) {
	now := time.Now()
	g, srcs := fullGate(t, now)
	x, y := &fakeSource{ip: "10.0.2.1"}, &fakeSource{ip: "2001:db8::1"}
	for range 3 {
		for _, s := range []*fakeSource{x, x, y} {
			start, _ := g.enter(s.conn(), now, time.Second)
			require.False(t, start)
		}
	}
	var served []string
	for i := range 9 {
		next, _ := g.leave(srcs[i%len(srcs)].conn(), now)
		require.NotNil(t, next)
		served = append(served, next.RemoteAddr().(*net.TCPAddr).IP.String())
	}
	// x queued twice as many, but the two take turns while both wait.
	assert.Equal(t, []string{"10.0.2.1", "2001:db8::1", "10.0.2.1", "2001:db8::1", "10.0.2.1", "2001:db8::1",
		"10.0.2.1", "10.0.2.1", "10.0.2.1"}, served)
}

func TestGateCountsAnIPv6SourceByItsSlash64(t *testing.T) {
	a := &fakeConn{from: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3::1")}}
	b := &fakeConn{from: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9")}}
	c := &fakeConn{from: &net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1")}}
	d := &fakeConn{from: &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1")}}
	assert.Equal(t, sourceOf(a), sourceOf(b))
	assert.NotEqual(t, sourceOf(a), sourceOf(c))
	assert.Equal(t, "10.0.0.1/32", sourceOf(d).String())
}

func TestGateFullQueuePushesOutTheLongestQueue(t *testing.T) {
	now := time.Now()
	g, srcs := fullGate(t, now)
	a := srcs[0]
	for range maxWaiting {
		start, closed := g.enter(a.conn(), now, time.Second)
		require.False(t, start)
		require.Nil(t, closed)
	}
	// a's next is turned away; another source's pushes out a's newest.
	c := a.conn()
	_, closed := g.enter(c, now, time.Second)
	assert.Same(t, c, closed)
	b := srcs[1].conn()
	_, closed = g.enter(b, now, time.Second)
	require.NotNil(t, closed)
	assert.Equal(t, maxWaiting+maxHandshakesPerSource, closed.(*fakeConn).id, "not a's newest")
	assert.Equal(t, maxWaiting, g.waiting)

	// b's source, with one waiting, is served before a's next.
	next, _ := g.leave(srcs[1].conn(), now)
	assert.Same(t, b, next)
}

func TestGateExpiresWaitersAndClosesThemAtClose(t *testing.T) {
	now := time.Now()
	g, srcs := fullGate(t, now)
	early, late := srcs[0].conn(), srcs[1].conn()
	g.enter(early, now, time.Second)
	g.enter(late, now.Add(time.Second/2), time.Second)

	expired, next := g.expire(now.Add(time.Second / 2))
	assert.Empty(t, expired)
	assert.Equal(t, now.Add(time.Second), next)
	expired, next = g.expire(now.Add(time.Second))
	assert.Equal(t, []net.Conn{early}, expired)
	assert.Equal(t, now.Add(3*time.Second/2), next)

	// A slot freed after late's wait ran out skips it.
	got, expired := g.leave(srcs[1].conn(), now.Add(2*time.Second))
	assert.Nil(t, got)
	assert.Equal(t, []net.Conn{late}, expired)

	waiting := srcs[2].conn()
	g.enter(waiting, now, time.Second)
	assert.Equal(t, []net.Conn{waiting}, g.close())
	assert.Zero(t, g.waiting)
	after := srcs[3].conn()
	start, closed := g.enter(after, now, time.Second)
	assert.False(t, start)
	assert.Same(t, after, closed)
}

func TestGateWarnsOfConnectionsTurnedAwayOnceAMinute(t *testing.T) {
	var g gate
	now := time.Now()
	count, warn := g.turnAway(now)
	assert.True(t, warn)
	assert.Equal(t, 1, count)
	for range 5 {
		_, warn = g.turnAway(now.Add(busyWarnings / 2))
		assert.False(t, warn)
	}
	count, warn = g.turnAway(now.Add(busyWarnings))
	assert.True(t, warn)
	assert.Equal(t, 6, count)
}
