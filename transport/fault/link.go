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
// Like a TCP connection, a shaped direction has a send buffer at the
// writing end and a receive buffer at the reading end. The send buffer
// holds what was written and has not arrived at the far end: bytes waiting
// to leave and bytes on the way, as a socket's holds what the peer has not
// acknowledged (the model takes a byte as acknowledged when it arrives,
// without the return trip of an acknowledgement). Its size is SendBuffer.
// A Write copies into it what fits and returns once all its bytes did;
// while it is full the Write waits and, when SendBuffer is set, wakes only
// once a third of the buffer has drained, as Linux wakes a writer blocked
// on a full socket. So a Write can make no progress for a third of the
// buffer's time on the link while the link moves bytes the whole time,
// which the dialler's end tells through transport.Unacked: the bytes in
// its send buffer. NotSentLowat bounds the part of the buffer that has not
// left yet, as TCP_NOTSENT_LOWAT does.
//
// The receive buffer holds twice the link's bandwidth-delay product (its
// bandwidth times its latency), but at least 128 KiB and 20 ms of the
// link's time (8 MiB on a link without a bandwidth, at most 2 GiB): bytes
// on the way, and bytes arrived and not yet read, as a TCP receive window,
// which must hold a round trip's worth for the link to run at its rate.
// Bytes leave only while it has room, so a reader that stops reading stops
// the link, and the send buffer fills and stays full.
//
// A write deadline that passes while a Write waits ends it, as on a
// socket, with how many bytes the link took and os.ErrDeadlineExceeded;
// the link delivers those. So a write of 8 MiB at 1 MiB/s with a deadline
// of 2 s fails after 2 s having written a little over 2 MiB, and a node
// that writes a large message in pieces, each within its deadline, times
// out only when the link stops, not because it is slow, unless a third of
// the send buffer takes longer than the deadline. Read deadlines and Close
// work as on any connection, and nothing is lost or reordered.
//
// The link paces the dialler's writes as they leave it, and the
// acceptor's as the dialler reads them, so that the acceptor needs no
// wrapping. What the acceptor writes goes first into the buffers of the
// transport underneath (a socket's, or transport/mem's BufferSize), whose
// writer wakes as soon as there is room, and from them into the link's
// send buffer as soon as it has room: the wake-up rule of SendBuffer and
// NotSentLowat act on the dialler's writes only, and the acceptor's
// Unacked is the transport's, which falls as the link takes its bytes.
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
	// SendBuffer is the size of the send buffer, in bytes, like a TCP
	// socket's SO_SNDBUF (Linux grows one to a few MiB on a busy link;
	// 2.7 MB was seen behind a 4 Mbit/s one). If it is set, a writer
	// blocked on a full buffer wakes only once a third of it has drained.
	// 0 keeps the link as it was before this setting: a send buffer as
	// large as the receive buffer, and a writer that wakes as soon as
	// there is any room.
	SendBuffer int
	// NotSentLowat, if set, is the most bytes the send buffer holds that
	// have not left yet, like Linux's TCP_NOTSENT_LOWAT: a Write copies
	// while fewer than that wait to leave, and a blocked writer wakes once
	// fewer than half of it do, as on Linux. Bytes on the way do not count.
	// A small one keeps what a node writes last (a goodbye, a control
	// frame) behind little data in the buffer. 0 is none.
	NotSentLowat int
}

const (
	// minBuffer is the least receive buffer of a shaped link.
	minBuffer = 64 << 10
	// minBufferTime is the least link time a shaped link's receive buffer
	// holds, so that the sender refills it before it runs dry.
	minBufferTime = 10 * time.Millisecond
	// unlimitedBuffer is the receive buffer of a link without a bandwidth:
	// the most Linux gives a TCP socket by default.
	unlimitedBuffer = 4 << 20
	// maxBuffer bounds a link's receive buffer whatever its bandwidth-delay
	// product.
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

// buffer is the link's bandwidth-delay product, but at least 64 KiB and
// 10 ms of its time: 4 MiB without a bandwidth, at most 1 GiB.
func (l Link) buffer() int {
	if l.Bandwidth == 0 {
		return unlimitedBuffer
	}
	b := float64(l.Bandwidth) * max(l.Latency, minBufferTime).Seconds()
	return int(min(max(b, minBuffer), maxBuffer))
}

// recvBuffer is the size of the receive buffer, which bounds what is on
// the way and arrived but not read: a round trip's worth, twice the
// bandwidth-delay product, as a TCP receive window must be for the link
// to run at its rate.
func (l Link) recvBuffer() int { return 2 * l.buffer() }

// sendBuffer is the size of the send buffer: SendBuffer, or as much as the
// receive buffer.
func (l Link) sendBuffer() int {
	if l.SendBuffer > 0 {
		return l.SendBuffer
	}
	return l.recvBuffer()
}

// wakeRoom is how much room a writer blocked on a full send buffer waits
// for: a third of it, as Linux's sk_stream_write_space wakes a writer once
// the free space is half of what is queued, or any room for a link
// without a SendBuffer.
func (l Link) wakeRoom() int {
	if l.SendBuffer > 0 {
		return max(l.SendBuffer/3, 1)
	}
	return 1
}

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
	if l.Bandwidth < 0 || l.Latency < 0 || l.SendBuffer < 0 || l.NotSentLowat < 0 {
		panic(fmt.Sprintf("fault: negative link %+v", l))
	}
	if l.Bandwidth > maxBandwidth {
		panic(fmt.Sprintf("fault: bandwidth %d over 1 TiB/s", l.Bandwidth))
	}
}
