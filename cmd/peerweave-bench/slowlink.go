package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/fault"
)

// The small messages that cross a slow link the other way during a large
// transfer: each carries the time it was sent.
const (
	tickSize     = 64
	tickInterval = 2 * time.Millisecond
)

// Goals of the slow-link section.
const (
	slowRateGoal    = 0.9 // of the link's bandwidth, at least
	slowLatencyGoal = 2   // fragment times on the link, at most, for the p99
)

// slowResult is what one slow-link run measured.
type slowResult struct {
	payload int
	took    time.Duration   // from A's Send to B's receipt of the payload
	queued  time.Duration   // of which A's Send took to return
	ticks   []time.Duration // one-way latencies of B's small messages, sorted
	removed []string        // remotes removed during the run
}

// rate is the transfer's rate in bytes per second.
func (r slowResult) rate() float64 { return float64(r.payload) / r.took.Seconds() }

// slowLinkShape is the shape of each direction of the slow link.
func (c config) slowLinkShape() fault.Link {
	return fault.Link{Bandwidth: int64(c.slowBandwidth), Latency: c.slowLatency}
}

// fragmentTime is how long one full fragment takes on the link: its bytes
// at the bandwidth, then the latency. It is how long a message may have to
// wait for a fragment ahead of it.
func fragmentTime(l fault.Link) time.Duration {
	return time.Duration(float64(wire.MaxFragment)/float64(l.Bandwidth)*float64(time.Second)) + l.Latency
}

// measureSlowLink sends one large payload from A to B over a shaped link,
// both directions shaped alike, while B sends A a small timestamped message
// every tickInterval until the payload has arrived. A dials B: transport/fault
// shapes the dialler's writes as they leave it, so the large payload meets
// the link at once rather than after the inner transport's buffers.
func measureSlowLink(cfg config) (slowResult, error) {
	res := slowResult{payload: int(cfg.slowPayload)}
	link := cfg.slowLinkShape()
	fn := fault.NewNetwork()
	source := cfg.transport.network()
	p, err := newPair(func() cluster.Transport { return fn.Wrap(source()) }, cfg.codec, []cluster.Option{
		cluster.WithHealthyInterval(cfg.healthy),
		cluster.WithNetworkTimeout(cfg.timeout),
		cluster.WithMaxMessageSize(max(cluster.DefaultMaxMessageSize, res.payload)),
	}, nil, nil)
	if err != nil {
		return res, err
	}
	fn.Shape(p.a.String(), p.b.String(), link)
	fn.Shape(p.b.String(), p.a.String(), link)

	big := make([]byte, res.payload)
	for i := range big {
		big[i] = byte(i * 7)
	}
	base := time.Now() // the one clock that sends and receipts are read on
	var wg sync.WaitGroup
	defer func() {
		p.close() // which ends the loops on the Inboxes, and B's Sends
		wg.Wait()
	}()

	// A reads B's small messages as they come.
	var ticksIn atomic.Int64
	ticks := make(chan []time.Duration, 1)
	wg.Go(func() {
		var lat []time.Duration
		for m := range p.a.Inbox {
			if len(m.Payload) == tickSize {
				lat = append(lat, time.Since(base)-time.Duration(binary.BigEndian.Uint64(m.Payload)))
				ticksIn.Add(1)
			}
		}
		ticks <- lat
	})
	// B reads the payload.
	arrived := make(chan struct{})
	var arrivedAt time.Duration
	var damaged error
	wg.Go(func() {
		first := true
		for m := range p.b.Inbox {
			if first {
				arrivedAt = time.Since(base)
				if !bytes.Equal(m.Payload, big) {
					damaged = fmt.Errorf("B received %d bytes that are not the %d sent", len(m.Payload), len(big))
				}
				close(arrived)
				first = false
			}
		}
	})
	// B sends A small messages until the payload has arrived.
	var ticksOut int64
	var tickErr error
	ticking := make(chan struct{})
	toA := cluster.Remote(*p.a.Addr())
	wg.Go(func() {
		defer close(ticking)
		t := time.NewTicker(tickInterval)
		defer t.Stop()
		msg := make([]byte, tickSize)
		for {
			select {
			case <-arrived:
				return
			case <-t.C:
			}
			binary.BigEndian.PutUint64(msg, uint64(time.Since(base)))
			if tickErr = p.b.Send(toA, msg); tickErr != nil {
				return
			}
			ticksOut++
		}
	})

	expect := time.Duration(float64(res.payload)/float64(link.Bandwidth)*float64(time.Second)) + link.Latency
	limit := 10*expect + 10*time.Second
	sentAt := time.Since(base)
	if err := p.a.Send(cluster.Remote(*p.b.Addr()), big); err != nil {
		return res, err
	}
	res.queued = time.Since(base) - sentAt
	select {
	case <-arrived:
	case <-time.After(limit):
		res.removed = p.removed.snapshot()
		return res, fmt.Errorf("the payload did not arrive in %v (%s)", limit, describeRemovals(res.removed))
	}
	res.took = arrivedAt - sentAt
	<-ticking
	if damaged != nil || tickErr != nil {
		return res, errors.Join(damaged, tickErr)
	}
	// Every small message sent is on its way; wait for the last.
	for deadline := time.Now().Add(limit); ticksIn.Load() < ticksOut; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d small messages arrived in %v", ticksIn.Load(), ticksOut, limit)
		}
	}
	res.removed = p.removed.snapshot()
	p.close()
	res.ticks = <-ticks
	slices.Sort(res.ticks)
	return res, nil
}

// slowLink measures the slow-link section and returns its rows: the large
// payload with small messages the other way, small messages behind bulk
// data the same way with and without TCP_NOTSENT_LOWAT (sameway.go), and
// what it costs throughput on loopback (lowat.go).
func slowLink(cfg config) []row {
	res, err := measureSlowLink(cfg)
	rows := slowLinkRows(cfg, res, err)
	for _, lowat := range []int{wire.MaxFragment, 0} {
		link := cfg.sameWayLink(lowat)
		same, err := measureSameWay(cfg, link)
		rows = append(rows, sameWayRows(cfg, link, same, err)...)
	}
	return append(rows, lowatRows()...)
}

// slowLinkRows are the rows of a slow-link run: the transfer's rate against
// the bandwidth, the p50 and p99 latency of the small messages the other way
// against one fragment's time on the link, and the remotes removed.
func slowLinkRows(cfg config, res slowResult, err error) []row {
	l := cfg.slowLinkShape()
	what := fmt.Sprintf("Slow link, %s, %s/s + %s each way (alike both ways, as on a real link), timeout %s",
		cfg.stackName(), bench.SizeName(int(l.Bandwidth)), fmtDur(l.Latency), fmtDur(cfg.timeout))
	transfer := fmt.Sprintf("%s: %s from the dialler", what, bench.SizeName(res.payload))
	if err != nil {
		return []row{failed(transfer, err)}
	}
	rows := []row{{
		what:     transfer,
		measured: fmt.Sprintf("%s, %s/s (Send returned after %s)", fmtDur(res.took), fmtBytes(res.rate()), fmtDur(res.queued)),
		baseline: fmt.Sprintf("link: %s/s; goal ≥ %g×", fmtBytes(float64(l.Bandwidth)), slowRateGoal),
		ratio:    fmtRatio(res.rate() / float64(l.Bandwidth)),
	}}
	frag := fragmentTime(l)
	for _, pc := range []float64{50, 99} {
		d := bench.Percentile(res.ticks, pc)
		rows = append(rows, row{
			what: fmt.Sprintf("%s: %dB every %s the other way during the transfer, one-way p%g",
				what, tickSize, fmtDur(tickInterval), pc),
			measured: fmt.Sprintf("%s (of %s)", fmtDur(d), group(int64(len(res.ticks)))),
			baseline: fmt.Sprintf("one %s fragment on the link: %s; goal p99 ≤ %d×",
				bench.SizeName(wire.MaxFragment), fmtDur(frag), slowLatencyGoal),
			ratio: fmtRatio(float64(d) / float64(frag)),
		})
	}
	gone := row{what: what + ": remotes removed during the transfer", measured: describeRemovals(res.removed), baseline: "goal: none", ratio: "—"}
	gone.failed = len(res.removed) > 0
	return append(rows, gone)
}
