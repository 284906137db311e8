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
	size := l.sendBuffer()
	room, _, _, err := w.room(t0, false)
	require.NoError(t, err)
	require.Equal(t, size, room)
	require.NoError(t, w.put(make([]byte, size), t0))

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
		require.NoError(t, w.put(make([]byte, 100), at(time.Duration(i)*10*time.Microsecond)))
	}
	assert.Zero(t, drain(t, w, at(latency)), "arrived before the latency")
	// 10,000 bytes take 9.5 ms at 1 MiB/s: the writes follow each other on
	// the link, and share its latency.
	assert.Equal(t, 10000, drain(t, w, at(latency+10*time.Millisecond)))
}

// The send buffer holds what has not arrived, whether the reader took it
// or not; the receive buffer holds what is on the way or arrived and not
// taken, and bytes leave only while it has room.
func TestWireSendBufferHoldsWhatHasNotArrived(t *testing.T) {
	l := Link{Bandwidth: 1 << 20} // buffers of 128 KiB to send and to receive
	w := newWire(l)
	room, _, _, err := w.room(t0, false)
	require.NoError(t, err)
	assert.Equal(t, 128<<10, room, "as large as the receive buffer")
	require.NoError(t, w.put(make([]byte, room), t0))
	room, next, changed, err := w.room(t0, false)
	require.NoError(t, err)
	assert.Zero(t, room)
	require.NotNil(t, changed)
	assert.Equal(t, at(l.serialise(l.slice())), next, "room once the first slice arrives")

	assert.Equal(t, 128<<10-20*l.slice(), w.unacked(at(20*time.Millisecond)), "20 slices arrived, none taken")
	room, _, _, err = w.room(at(20*time.Millisecond), false)
	require.NoError(t, err)
	assert.Equal(t, 20*l.slice(), room)

	// A send buffer larger than the receive buffer: with nothing taken,
	// the receive buffer fills, and the rest waits to leave.
	l.SendBuffer = 256 << 10
	w = newWire(l)
	require.NoError(t, w.put(make([]byte, l.SendBuffer), t0))
	assert.Equal(t, 128<<10, w.unacked(at(time.Second)))
	assert.Equal(t, 128<<10, drain(t, w, at(time.Second)))
	assert.Equal(t, 128<<10, w.unacked(at(time.Second)), "leaves once taken")
	assert.Zero(t, w.unacked(at(time.Second+l.serialise(128<<10+l.slice()))))
}

// A writer blocked on a full send buffer wakes once a third of it has
// arrived, not at the first free byte, as on Linux; meanwhile the count of
// unacknowledged bytes falls.
func TestWireWakesABlockedWriterOnceAThirdHasDrained(t *testing.T) {
	const size = 96 << 10
	l := Link{Bandwidth: 1 << 20, Latency: 10 * time.Millisecond, SendBuffer: size}
	w := newWire(l)
	require.NoError(t, w.put(make([]byte, size), t0))
	room, next, changed, err := w.room(t0, true)
	require.NoError(t, err)
	require.Zero(t, room)
	require.NotNil(t, changed)
	third := l.serialise(size/3) + l.Latency
	assert.GreaterOrEqual(t, next, at(third), "wakes before a third arrived")
	assert.Less(t, next, at(third+l.serialise(l.slice())), "wakes later than the slice with the third's last byte")

	before := next.Add(-time.Nanosecond)
	room, _, _, err = w.room(before, true)
	require.NoError(t, err)
	assert.Zero(t, room, "a blocked writer woke early")
	assert.Less(t, w.unacked(before), size-size/4, "the count fell while the writer waits")
	room, _, _, err = w.room(before, false)
	require.NoError(t, err)
	assert.Positive(t, room, "a writer that was not blocked finds room")
	room, _, _, err = w.room(next, true)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, room, size/3)
	assert.Equal(t, size-room, w.unacked(next))
}

// With a not-sent low-water mark, a writer copies while fewer bytes than
// it wait to leave, and a blocked one wakes once fewer than half of it
// do; bytes on the way count for neither.
func TestWireNotSentLowat(t *testing.T) {
	const lowat = 16 << 10
	l := Link{Bandwidth: 1 << 20, Latency: 50 * time.Millisecond, NotSentLowat: lowat}
	w := newWire(l)
	room, _, _, err := w.room(t0, false)
	require.NoError(t, err)
	require.Equal(t, lowat, room)
	require.NoError(t, w.put(make([]byte, lowat), t0))
	room, next, _, err := w.room(t0, true)
	require.NoError(t, err)
	require.Zero(t, room)
	half := l.serialise(lowat / 2)
	assert.GreaterOrEqual(t, next, at(half), "wakes before half the mark left")
	assert.Less(t, next, at(half+l.serialise(l.slice())))
	room, _, _, err = w.room(next, true)
	require.NoError(t, err)
	assert.Greater(t, room, lowat/2)
	assert.Equal(t, lowat, w.unacked(next), "what left is still on the way")
}

func TestWireStandsStillWhileStopped(t *testing.T) {
	const latency = 50 * time.Millisecond
	w := newWire(Link{Latency: latency})
	err := w.put(make([]byte, 1000), t0)
	require.NoError(t, err)
	w.stop(true, at(10*time.Millisecond))
	assert.Zero(t, drain(t, w, at(time.Second)), "arrived through a black hole")
	// Bytes handed to the link meanwhile wait for it too.
	err = w.put(make([]byte, 1000), at(time.Second))
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
	err := w.put(make([]byte, 10<<10), t0) // 10 s to leave
	require.NoError(t, err)
	assert.Zero(t, drain(t, w, at(time.Second)))
	// Unshaped: what left arrives now, and the rest at once.
	w.reshape(Link{}, at(time.Second))
	assert.Equal(t, 10<<10, drain(t, w, at(time.Second)))

	// A slower link slows what has not left yet.
	w.reshape(Link{Bandwidth: 1 << 20}, at(2*time.Second))
	err = w.put(make([]byte, 100<<10), at(2*time.Second)) // 100 ms to leave
	require.NoError(t, err)
	w.reshape(Link{Bandwidth: 1 << 10}, at(2*time.Second+50*time.Millisecond))
	got := drain(t, w, at(3*time.Second))
	assert.InDelta(t, 50<<10+1<<10, got, float64(2*(1<<20)/1000), "half at the old rate, then 0.95 s at the new")
}

func TestWireEndsAfterItsBytes(t *testing.T) {
	const latency = 50 * time.Millisecond
	w := newWire(Link{Latency: latency})
	err := w.put([]byte("last"), t0)
	require.NoError(t, err)
	w.finish(io.EOF, t0, 0)
	err = w.put([]byte("more"), t0)
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
	err := w.put([]byte("held"), t0)
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
