package fault

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive a wire with made-up times, so they check its schedule
// exactly, whatever the machine.

var t0 = time.Unix(1_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

// drain takes everything that arrived on w by now and returns how much.
func drain(t *testing.T, w *wire, now time.Time) int {
	t.Helper()
	buf := make([]byte, 1<<20)
	total := 0
	for {
		n, _, err, _, _ := w.take(buf, now)
		require.NoError(t, err)
		if n == 0 {
			return total
		}
		total += n
	}
}

func TestWireDeliversAtTheBandwidthALatencyLater(t *testing.T) {
	const rate, latency = 1 << 20, 50 * time.Millisecond
	l := Link{Bandwidth: rate, Latency: latency}
	w := newWire(l)
	size := l.window()
	n, _, err := w.put(make([]byte, size), t0, false)
	require.NoError(t, err)
	require.Equal(t, size, n)

	arrived := 0
	for d := time.Duration(0); arrived < size; d += 7 * time.Millisecond {
		arrived += drain(t, w, at(d))
		// What arrived by t left by t - latency, at the bandwidth, in
		// slices.
		carried := max(0, int((d-latency).Seconds()*rate))
		assert.LessOrEqual(t, arrived, carried, "at %v: ahead of the link", d)
		assert.GreaterOrEqual(t, arrived, min(size, carried-l.slice()), "at %v: behind the link", d)
		require.Less(t, d, 10*time.Second)
	}
}

func TestWirePipelinesSmallWrites(t *testing.T) {
	const latency = 50 * time.Millisecond
	w := newWire(Link{Bandwidth: 1 << 20, Latency: latency})
	for i := range 100 {
		n, _, err := w.put(make([]byte, 100), at(time.Duration(i)*10*time.Microsecond), false)
		require.NoError(t, err)
		require.Equal(t, 100, n)
	}
	assert.Zero(t, drain(t, w, at(latency)), "arrived before the latency")
	// 10,000 bytes take 9.5 ms at 1 MiB/s: the writes follow each other on
	// the link, and share its latency.
	assert.Equal(t, 10000, drain(t, w, at(latency+10*time.Millisecond)))
}

func TestWireHoldsTwoBuffers(t *testing.T) {
	l := Link{Bandwidth: 1 << 20}
	w := newWire(l)
	n, changed, err := w.put(make([]byte, 1<<20), t0, false)
	require.NoError(t, err)
	assert.Equal(t, 2*(64<<10), n, "two buffers of 64 KiB")
	require.NotNil(t, changed)
	got := drain(t, w, at(20*time.Millisecond))
	assert.Positive(t, got)
	select {
	case <-changed:
	default:
		t.Fatal("taking bytes did not announce room")
	}
	n, _, err = w.put(make([]byte, 1<<20), at(20*time.Millisecond), false)
	require.NoError(t, err)
	assert.Equal(t, got, n, "room for what was taken")
}

func TestWireStandsStillWhileStopped(t *testing.T) {
	const latency = 50 * time.Millisecond
	w := newWire(Link{Latency: latency})
	_, _, err := w.put(make([]byte, 1000), t0, false)
	require.NoError(t, err)
	w.stop(true, at(10*time.Millisecond))
	assert.Zero(t, drain(t, w, at(time.Second)), "arrived through a black hole")
	// Bytes handed to the link meanwhile wait for it too.
	_, _, err = w.put(make([]byte, 1000), at(time.Second), false)
	require.NoError(t, err)
	w.stop(false, at(2*time.Second))
	// The first bytes had 40 ms to go, the others a whole latency.
	assert.Zero(t, drain(t, w, at(2*time.Second+39*time.Millisecond)))
	assert.Equal(t, 1000, drain(t, w, at(2*time.Second+40*time.Millisecond)))
	assert.Zero(t, drain(t, w, at(2*time.Second+latency-time.Nanosecond)))
	assert.Equal(t, 1000, drain(t, w, at(2*time.Second+latency)))
}

func TestWireReshapesTheBytesOnTheWay(t *testing.T) {
	w := newWire(Link{Bandwidth: 1 << 10, Latency: time.Hour})
	_, _, err := w.put(make([]byte, 10<<10), t0, false) // 10 s to leave
	require.NoError(t, err)
	assert.Zero(t, drain(t, w, at(time.Second)))
	// Unshaped: what left arrives now, and the rest at once.
	w.reshape(Link{}, at(time.Second))
	assert.Equal(t, 10<<10, drain(t, w, at(time.Second)))

	// A slower link slows what has not left yet.
	w.reshape(Link{Bandwidth: 1 << 20}, at(2*time.Second))
	_, _, err = w.put(make([]byte, 100<<10), at(2*time.Second), false) // 100 ms to leave
	require.NoError(t, err)
	w.reshape(Link{Bandwidth: 1 << 10}, at(2*time.Second+50*time.Millisecond))
	got := drain(t, w, at(3*time.Second))
	assert.InDelta(t, 50<<10+1<<10, got, float64(2*(1<<20)/1000), "half at the old rate, then 0.95 s at the new")
}

func TestWireEndsAfterItsBytes(t *testing.T) {
	const latency = 50 * time.Millisecond
	w := newWire(Link{Latency: latency})
	_, _, err := w.put([]byte("last"), t0, false)
	require.NoError(t, err)
	w.finish(io.EOF, t0, 0)
	_, _, err = w.put([]byte("more"), t0, false)
	assert.Error(t, err, "put after the end")
	buf := make([]byte, 10)
	n, _, err, next, _ := w.take(buf, at(latency-time.Nanosecond))
	assert.Zero(t, n)
	assert.NoError(t, err)
	assert.Equal(t, at(latency), next)
	n, _, err, _, _ = w.take(buf, at(latency))
	assert.Equal(t, "last", string(buf[:n]))
	assert.NoError(t, err)
	_, _, err, _, _ = w.take(buf, at(latency))
	assert.ErrorIs(t, err, io.EOF)
}

func TestWireGivesUpWhenStoppedTooLong(t *testing.T) {
	w := newWire(Link{Latency: 50 * time.Millisecond})
	_, _, err := w.put([]byte("held"), t0, false)
	require.NoError(t, err)
	w.stop(true, t0)
	giveUp := w.finish(io.EOF, t0, time.Second)
	assert.Equal(t, at(time.Second+50*time.Millisecond), giveUp)
	buf := make([]byte, 10)
	_, _, err, next, _ := w.take(buf, at(time.Second))
	assert.NoError(t, err)
	assert.Equal(t, giveUp, next)
	_, _, err, _, _ = w.take(buf, giveUp)
	assert.ErrorIs(t, err, io.EOF, "still holding on after giving up")
}
