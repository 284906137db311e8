package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
)

// inboxStall is how long the unread-inbox section waits, once the receiver
// reads again, for a message that does not come before it gives up.
const inboxStall = 5 * time.Second

// inboxResult is what one unread-inbox run measured.
type inboxResult struct {
	payload    int
	unread     time.Duration // how long B did not read
	accepted   int64         // Sends that returned nil
	timeouts   int64         // Sends that failed with ErrTimeout
	others     int64         // Sends that failed otherwise
	otherErr   error         // the first of those
	delivered  int64         // messages B read
	outOfOrder int64         // of those, how many were not the next one accepted
	removed    []string      // remotes removed during the run
}

// sound reports whether the run kept the promise: every message Send
// accepted arrived, once, in order, every failed Send timed out, and nobody
// was removed.
func (r inboxResult) sound() bool {
	return r.accepted > 0 && r.delivered == r.accepted && r.outOfOrder == 0 && r.others == 0 && len(r.removed) == 0
}

// inboxPayload is the size of the unread-inbox section's messages: the
// -payload size, but room for a sequence number at least.
func inboxPayload(cfg config) int { return max(cfg.payload, 8) }

// measureInbox makes A send B numbered messages as fast as Send allows while
// B's application does not read its Inbox, of one message, for
// cfg.inboxTimeouts network timeouts; then B reads everything, and A stops
// sending. With a short timeout the health checks run all along.
func measureInbox(cfg config) (inboxResult, error) {
	res := inboxResult{payload: inboxPayload(cfg), unread: time.Duration(cfg.inboxTimeouts) * cfg.timeout}
	p, err := newPair(cfg.transport.network(), cfg.codec, []cluster.Option{
		cluster.WithHealthyInterval(cfg.healthy),
		cluster.WithNetworkTimeout(cfg.timeout),
	}, nil, []cluster.Option{cluster.WithInboxSize(1)})
	if err != nil {
		return res, err
	}
	var wg sync.WaitGroup
	defer func() {
		p.close() // which ends B's loop on its Inbox
		wg.Wait()
	}()

	readFrom := time.Now().Add(res.unread)
	var delivered, outOfOrder atomic.Int64
	wg.Go(func() {
		time.Sleep(time.Until(readFrom))
		var next uint64
		for m := range p.b.Inbox {
			if seq := binary.BigEndian.Uint64(m.Payload); seq != next {
				outOfOrder.Add(1)
				next = seq
			}
			next++
			delivered.Add(1)
		}
	})

	toB := cluster.Remote(*p.b.Addr())
	msg := make([]byte, res.payload)
	for time.Now().Before(readFrom) {
		binary.BigEndian.PutUint64(msg, uint64(res.accepted))
		switch err := p.a.Send(toB, msg); {
		case err == nil:
			res.accepted++
		case errors.Is(err, cluster.ErrTimeout):
			res.timeouts++
		default:
			if res.others++; res.otherErr == nil {
				res.otherErr = err
			}
		}
	}

	// B reads again; wait until it has read what Send accepted, as long as
	// it makes progress.
	last, since := delivered.Load(), time.Now()
	for got := last; got < res.accepted; got = delivered.Load() {
		if got != last {
			last, since = got, time.Now()
		}
		if time.Since(since) > inboxStall {
			break
		}
		time.Sleep(time.Millisecond)
	}
	res.removed = p.removed.snapshot()
	p.close()
	wg.Wait()
	res.delivered, res.outOfOrder = delivered.Load(), outOfOrder.Load()
	return res, nil
}

// unreadInbox measures the unread-inbox section and returns its row.
func unreadInbox(cfg config) []row {
	res, err := measureInbox(cfg)
	return inboxRows(cfg, res, err)
}

// inboxRows is the row of an unread-inbox run: what arrived against what
// Send accepted.
func inboxRows(cfg config, res inboxResult, err error) []row {
	what := fmt.Sprintf("Unread inbox, %s, %s as fast as Send allows while the receiver (Inbox of 1) reads nothing for %d timeouts of %s, then everything",
		cfg.stackName(), bench.SizeName(res.payload), cfg.inboxTimeouts, fmtDur(cfg.timeout))
	if err != nil {
		return []row{failed(what, err)}
	}
	order := "in order"
	if res.outOfOrder > 0 {
		order = fmt.Sprintf("%s out of order", group(res.outOfOrder))
	}
	failures := fmt.Sprintf("%s failed with ErrTimeout", plural(res.timeouts, "Send"))
	if res.others > 0 {
		failures += fmt.Sprintf(", %s otherwise (first: %v)", group(res.others), res.otherErr)
	}
	r := row{
		what:     what,
		measured: fmt.Sprintf("%s delivered, %s; %s; %s", group(res.delivered), order, failures, describeRemovals(res.removed)),
		baseline: "accepted by Send: " + group(res.accepted),
		ratio:    "—",
		failed:   !res.sound(),
	}
	if res.accepted > 0 {
		r.ratio = fmtRatio(float64(res.delivered) / float64(res.accepted))
	}
	return []row{r}
}

// plural says n things, as "1 Send" or "2 Sends".
func plural(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return group(n) + " " + thing + "s"
}
