package link

import (
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// Ping queues a health check, timing it if no other is unanswered.
func (l *Link) Ping() {
	if l.pings.Add(1) == 1 {
		l.pingAt.Store(monotonic())
	}
	l.Control(wire.KindPing, nil)
}

// pong takes the answer to the oldest health check, and tells the node of
// its round trip if it timed it. The reader calls it.
func (l *Link) pong() {
	if c := l.answered.Swap(nil); c != nil {
		close(*c)
	}
	at := l.pingAt.Swap(0)
	for {
		// An answer to no ping, from a peer that breaks the protocol,
		// must not make the count negative.
		c := l.pings.Load()
		if c <= 0 || l.pings.CompareAndSwap(c, c-1) {
			break
		}
	}
	if at == 0 {
		return
	}
	rtt := time.Duration(monotonic() - at)
	srtt := time.Duration(l.srtt.Load())
	if srtt == 0 {
		srtt = rtt
	} else {
		srtt += (rtt - srtt) / 8
	}
	l.rtt.Store(int64(rtt))
	l.srtt.Store(int64(srtt))
	l.h.Pong(rtt)
}

// Answered returns a channel that the next pong closes, timed or not: a
// sign of life from the remote, which every caller until then shares.
func (l *Link) Answered() <-chan struct{} {
	for {
		if c := l.answered.Load(); c != nil {
			return *c
		}
		c := make(chan struct{})
		if l.answered.CompareAndSwap(nil, &c) {
			return c
		}
	}
}

// RTT returns the round trip of the last health check answered, and their
// average, weighted to the recent as TCP's SRTT is (RFC 6298: each new
// sample counts 1/8); zero before the first.
func (l *Link) RTT() (last, smoothed time.Duration) {
	return time.Duration(l.rtt.Load()), time.Duration(l.srtt.Load())
}

// monotonic returns the time on the monotonic clock, in nanoseconds since
// the package started, never 0.
func monotonic() int64 { return int64(time.Since(epoch)) + 1 }

var epoch = time.Now()

// timeAt returns at, a time by monotonic, as a time.Time, or a moment after
// it (the clock is read after the distance is taken): a deadline set to it
// passes no earlier than at.
func timeAt(at int64) time.Time {
	d := time.Duration(at - monotonic())
	return time.Now().Add(d)
}
