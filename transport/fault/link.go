package fault

import (
	"fmt"
	"time"
)

// Link is the shape of one direction of the connections between two nodes:
// how fast bytes leave and how long they travel. The zero Link is an
// unshaped link.
//
// A shaped direction behaves as a TCP connection over such a wire. Bytes
// leave one after the other, at most at Bandwidth: a write of n bytes
// takes n/Bandwidth of the link's time, behind the writes before it. Each
// byte can be read Latency after it left. Writes are pipelined, as on a
// wire: a stream of small writes over a 50 ms link arrives 50 ms late, not
// 50 ms per write, and a transfer's rate is the bandwidth, whatever the
// latency.
//
// Like a socket, each end buffers one bandwidth-delay product, but at
// least 64 KiB and 10 ms of the link's time (4 MiB on a link without a
// bandwidth, at most 1 GiB). A Write returns once the link took its last
// byte, and waits while the link is full: it holds twice the buffer in
// all, waiting to leave, on the way, and arrived but not read. A write
// deadline that passes meanwhile ends the Write, as on a socket, with
// how many bytes the link took and os.ErrDeadlineExceeded; the link
// delivers those. So a write of 8 MiB at 1 MiB/s with a deadline of 2 s
// fails after 2 s having written a little over 2 MiB, and a node that
// writes a large message in pieces, each within its deadline, times out
// only when the link stops, not because it is slow. Read deadlines and
// Close work as on any connection, and nothing is lost or reordered.
//
// The link paces the dialler's writes as they leave it, and the
// acceptor's as the dialler reads them, so that the acceptor needs no
// wrapping: what the acceptor writes goes first into the buffers of the
// transport underneath (a socket's, or none for a pipe), which add to the
// link's.
//
// The link lets bytes through in slices of about 1 ms of its time, on
// timers: over a second or more, a transfer's rate is within a fraction
// of a percent of the bandwidth, and a byte never arrives before its time
// and on an idle machine well under a millisecond after.
type Link struct {
	// Bandwidth is the link's rate, in bytes per second, at most 1 TiB/s;
	// 0 is unlimited.
	Bandwidth int64
	// Latency is the one-way delay from the moment a byte leaves to the
	// moment the far end can read it; 0 is none.
	Latency time.Duration
}

const (
	// minBuffer is the least a shaped link buffers at each end.
	minBuffer = 64 << 10
	// minBufferTime is the least link time a shaped link buffers at each end,
	// so that the sender refills it before it runs dry.
	minBufferTime = 10 * time.Millisecond
	// unlimitedBuffer is what a link without a bandwidth buffers at each end:
	// the most Linux gives a TCP socket by default.
	unlimitedBuffer = 4 << 20
	// maxBuffer bounds a link's buffer whatever its bandwidth-delay product.
	maxBuffer = 1 << 30
	// maxBandwidth keeps the time a slice takes exact in nanoseconds.
	maxBandwidth = 1 << 40
	// sliceTime is how much link time a slice of bytes takes: the grain at
	// which the link lets bytes through, one timer per slice.
	sliceTime = time.Millisecond
	// minSlice is the smallest slice on a slow link, in bytes.
	minSlice = 64
	// linger is how long a closed connection's link keeps trying to deliver
	// what it holds beyond the time its schedule needs, through a black hole
	// or to a peer that does not read, before it drops it.
	linger = time.Second
)

// buffer is how many bytes the link buffers at each end, as a TCP socket
// does: one bandwidth-delay product, but at least 64 KiB and 10 ms of the
// link's time.
func (l Link) buffer() int {
	if l.Bandwidth == 0 {
		return unlimitedBuffer
	}
	b := float64(l.Bandwidth) * max(l.Latency, minBufferTime).Seconds()
	return int(min(max(b, minBuffer), maxBuffer))
}

// window is how many bytes the link holds at most: what waits to leave, is
// on the way, and arrived but was not read, a buffer at each end.
func (l Link) window() int { return 2 * l.buffer() }

// slice is how many bytes the link lets through as one, 0 for any number.
func (l Link) slice() int {
	if l.Bandwidth == 0 {
		return 0
	}
	return int(max(l.Bandwidth/int64(time.Second/sliceTime), minSlice))
}

// serialise returns how long n bytes take to leave, rounded up so that a
// transfer never beats the bandwidth.
func (l Link) serialise(n int) time.Duration {
	if l.Bandwidth == 0 {
		return 0
	}
	return time.Duration((int64(n)*int64(time.Second) + l.Bandwidth - 1) / l.Bandwidth)
}

func (l Link) check() {
	if l.Bandwidth < 0 || l.Latency < 0 {
		panic(fmt.Sprintf("fault: negative link %+v", l))
	}
	if l.Bandwidth > maxBandwidth {
		panic(fmt.Sprintf("fault: bandwidth %d over 1 TiB/s", l.Bandwidth))
	}
}
