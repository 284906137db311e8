package main

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/fault"
)

// sameWayGoal is the most fragment times on the link that the p99 of small
// messages behind bulk data on the same connection may take.
const sameWayGoal = 4

// sameWayResult is what one run of small messages behind bulk data measured.
type sameWayResult struct {
	ticks []time.Duration // from Send to receipt, sorted
	rtts  []time.Duration // health-check round trips seen during the bulk transfer, sorted
}

// sameWayLink is the slow link of the same-way rows: the section's, with a
// send buffer as Linux grows one behind a slow link, and TCP_NOTSENT_LOWAT
// of lowat bytes as transport/tcp sets it (64 KiB), or none if 0.
func (c config) sameWayLink(lowat int) fault.Link {
	l := c.slowLinkShape()
	l.SendBuffer, l.NotSentLowat = sameWayBuffer, lowat
	return l
}

// sameWayBuffer is the send buffer of the same-way rows' link.
const sameWayBuffer = 1 << 20

// measureSameWay sends the slow-link payload from A to B in fragment-sized
// messages over the shaped link, with A's send queue one fragment long, so
// that what a small message waits behind is that fragment and whatever the
// transport holds, while A also sends B a small timestamped message every
// tickInterval on the same connection, and reads A's health-check round trip
// to B each healthy interval.
func measureSameWay(cfg config, link fault.Link) (sameWayResult, error) {
	var res sameWayResult
	fn := fault.NewNetwork()
	source := cfg.transport.network()
	p, err := newPair(func() cluster.Transport { return fn.Wrap(source()) }, cfg.codec, []cluster.Option{
		cluster.WithHealthyInterval(cfg.healthy),
		cluster.WithNetworkTimeout(cfg.timeout),
	}, []cluster.Option{cluster.WithSendQueueSize(wire.MaxFragment)}, nil)
	if err != nil {
		return res, err
	}
	fn.Shape(p.a.String(), p.b.String(), link)
	fn.Shape(p.b.String(), p.a.String(), link)
	toB := cluster.Remote(*p.b.Addr())
	base := time.Now()
	var wg sync.WaitGroup
	defer func() {
		p.close()
		wg.Wait()
	}()

	// B reads the bulk data and the small messages, until the bulk is in.
	in := make(chan struct{})
	ticks := make(chan []time.Duration, 1)
	wg.Go(func() {
		var lat []time.Duration
		got := 0
		for m := range p.b.Inbox {
			if len(m.Payload) == tickSize {
				lat = append(lat, time.Since(base)-time.Duration(binary.BigEndian.Uint64(m.Payload)))
				continue
			}
			if got += len(m.Payload); got >= int(cfg.slowPayload) {
				close(in)
				break
			}
		}
		ticks <- lat
		for range p.b.Inbox {
		}
	})
	// A sends the small messages and samples its round trip to B.
	stop := make(chan struct{})
	var tickErr error
	var rtts []time.Duration
	wg.Go(func() {
		t := time.NewTicker(tickInterval)
		defer t.Stop()
		sample := time.NewTicker(cfg.healthy)
		defer sample.Stop()
		msg := make([]byte, tickSize)
		for {
			select {
			case <-stop:
				return
			case <-sample.C:
				if st, ok := p.a.RemoteStats(toB); ok && st.RTT > 0 {
					rtts = append(rtts, st.RTT)
				}
				continue
			case <-t.C:
			}
			binary.BigEndian.PutUint64(msg, uint64(time.Since(base)))
			if err := p.a.Send(toB, msg); err != nil {
				select {
				case <-stop: // the nodes closed under a Send that waited for room
				default:
					tickErr = err
				}
				return
			}
		}
	})
	chunk := make([]byte, wire.MaxFragment)
	for sent := 0; sent < int(cfg.slowPayload); sent += len(chunk) {
		if err := p.a.Send(toB, chunk); err != nil {
			close(stop)
			return res, fmt.Errorf("bulk send: %w (%s)", err, describeRemovals(p.removed.snapshot()))
		}
	}
	expect := time.Duration(float64(cfg.slowPayload)/float64(link.Bandwidth)*float64(time.Second)) + link.Latency
	limit := 10*expect + 10*time.Second
	select {
	case <-in:
	case <-time.After(limit):
		close(stop)
		return res, fmt.Errorf("the bulk data did not arrive in %v (%s)", limit, describeRemovals(p.removed.snapshot()))
	}
	close(stop)
	p.close()
	res.ticks = <-ticks
	wg.Wait()
	if tickErr != nil {
		return res, tickErr
	}
	res.rtts = rtts
	slices.Sort(res.ticks)
	slices.Sort(res.rtts)
	return res, nil
}

// sameWayRows are the rows of small messages behind bulk data on link: their
// p50 and p99 against one fragment's time on the link, and the health
// check's round trips against the silence limit.
func sameWayRows(cfg config, l fault.Link, res sameWayResult, err error) []row {
	lowat := "no TCP_NOTSENT_LOWAT"
	if l.NotSentLowat > 0 {
		lowat = "TCP_NOTSENT_LOWAT " + bench.SizeName(l.NotSentLowat)
	}
	what := fmt.Sprintf("Slow link, %s, %s/s + %s each way, %s send buffer, %s, timeout %s: %dB every %s on the same connection as %s of bulk data sent a fragment at a time",
		cfg.stackName(), bench.SizeName(int(l.Bandwidth)), fmtDur(l.Latency), bench.SizeName(l.SendBuffer), lowat, fmtDur(cfg.timeout),
		tickSize, fmtDur(tickInterval), bench.SizeName(int(cfg.slowPayload)))
	if err != nil {
		return []row{failed(what, err)}
	}
	frag := fragmentTime(l)
	var rows []row
	for _, pc := range []float64{50, 99} {
		d := bench.Percentile(res.ticks, pc)
		rows = append(rows, row{
			what:     fmt.Sprintf("%s, Send to receipt p%g", what, pc),
			measured: fmt.Sprintf("%s (of %s)", fmtDur(d), group(int64(len(res.ticks)))),
			baseline: fmt.Sprintf("one %s fragment on the link: %s; goal p99 ≤ %d×", bench.SizeName(wire.MaxFragment), fmtDur(frag), sameWayGoal),
			ratio:    fmtRatio(float64(d) / float64(frag)),
		})
	}
	silence := cfg.healthy + cfg.timeout
	rtt := row{what: what + ", health-check round trip p50 / max", baseline: fmt.Sprintf("silence limit (healthy + timeout): %s; goal max < 1×", fmtDur(silence)), ratio: "—"}
	if len(res.rtts) == 0 {
		rtt.measured = "no health check answered during the transfer"
	} else {
		top := res.rtts[len(res.rtts)-1]
		rtt.measured = fmt.Sprintf("%s / %s (of %d)", fmtDur(bench.Percentile(res.rtts, 50)), fmtDur(top), len(res.rtts))
		rtt.ratio = fmtRatio(float64(top) / float64(silence))
		rtt.failed = top >= silence
	}
	return append(rows, rtt)
}
