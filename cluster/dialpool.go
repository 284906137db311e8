package cluster

import (
	"errors"
	"net/netip"
	"time"
)

// The dial pool: every dial the node makes on its own initiative, to an
// address a peer list named or to a remote it lost (a redial), goes through
// it, so that what a peer can make the node dial is bounded in number, in
// rate and in time, whoever asks:
//
//   - at most maxListDials list dials and maxRedials redials are under way
//     at once, each kind with dialers of its own, so that redials of
//     remotes that no longer answer do not hold up the mesh, nor list
//     dials the redials;
//   - dials start at most dialRate a second, after a burst of dialBurst;
//   - waiting dials are served in turn per source, the remote whose list
//     named them (redials are a source of their own), so that one remote's
//     addresses that never answer cannot starve another's: each source may
//     have maxSourceQueue dials waiting, the node maxListQueue (redials
//     included);
//   - an address whose list dial failed is not dialled from a peer list
//     again for a healthy interval (the negative cache), so that a list
//     sent again and again costs one dial per address and interval;
//   - a redial that fails waits longer before the next, up to
//     maxRedialBackoff reconnect intervals.

// dialRate and dialBurst pace the dials of the pool: a token bucket of
// dialBurst tokens that refills at dialRate a second. A node that joins a
// cluster of a few hundred dials about half of them from peer lists within
// the burst and a few seconds, as an Add of that cluster takes anyway.
const (
	dialRate  = 64
	dialBurst = 256
)

// maxSourceQueue bounds the dials waiting for one source.
const maxSourceQueue = 4096

// maxRedials bounds the redials under way at once.
const maxRedials = 8

// maxFailed bounds the negative cache; when it is full, a failed address
// is not cached, only skipped for the moment.
const maxFailed = 1 << 14

// maxRedialBackoff is the most reconnect intervals between two redials of an
// address: after its first failed redial an address is redialled every other
// interval, then every fourth.
const maxRedialBackoff = 4

// redials is the source under which the reconnect loop queues its redials.
var redials netip.AddrPort

// dialJob is a dial waiting in the pool: the attemptth of k.
type dialJob struct {
	k       netip.AddrPort
	attempt int
}

// dialPool holds the dials waiting and under way. The node lock guards it
// (membership.go).
type dialPool struct {
	queues    map[netip.AddrPort][]dialJob // waiting list dials by source
	ring      []netip.AddrPort             // the sources with list dials waiting, served in this order
	redialQ   []dialJob                    // waiting redials
	queued    map[netip.AddrPort]int       // addresses queued or being dialled, to the attempt
	waiting   int                          // dials waiting, all sources
	dialers   int                          // goroutines dialling from lists, at most maxListDials
	redialers int                          // goroutines redialling, at most maxRedials
	lists     int                          // list dials waiting or under way: WaitMesh waits for them

	failed map[netip.AddrPort]time.Time // negative cache: not dialled from lists until then
	// failOrder holds the entries of failed in the order they were filed,
	// and so, give or take a change of the healthy interval, of their
	// expiry: the expired ones are forgotten from the front, without a
	// scan. An entry that failed no longer holds is skipped there.
	failOrder []failure

	tokens float64 // pacing: see reserve
	refill time.Time

	tick uint64 // reconnect intervals so far
}

func (d *dialPool) init() {
	d.queues = make(map[netip.AddrPort][]dialJob)
	d.queued = make(map[netip.AddrPort]int)
	d.failed = make(map[netip.AddrPort]time.Time)
	d.tokens = dialBurst
}

// queueDialLocked queues the attemptth dial of k for src, and reports
// whether it did: not if the queue of src or of the node is full. If there
// is room for another dialer of its kind, it counts one in, and spawn says
// that the caller is to start it, once it has let go of the node lock.
// m.mu must be held.
func (m *membership) queueDialLocked(src, k netip.AddrPort, attempt int) (ok, spawn bool) {
	d := &m.pool
	if d.waiting >= maxListQueue {
		return false, false
	}
	j := dialJob{k: k, attempt: attempt}
	if src == redials {
		d.redialQ = append(d.redialQ, j)
		if spawn = d.redialers < maxRedials; spawn {
			d.redialers++
		}
	} else {
		q := d.queues[src]
		if len(q) >= maxSourceQueue {
			return false, false
		}
		if len(q) == 0 {
			d.ring = append(d.ring, src)
		}
		d.queues[src] = append(q, j)
		d.lists++
		if spawn = d.dialers < maxListDials; spawn {
			d.dialers++
		}
	}
	d.queued[k] = attempt
	d.waiting++
	return true, spawn
}

// spawnDialer starts a dialer that queueDialLocked counted in.
func (n *Node) spawnDialer(redial bool) { n.wg.Go(func() { n.dialer(redial) }) }

// next takes the oldest redial, or the oldest list dial of the source whose
// turn it is, and reports false if there is none.
func (d *dialPool) next(redial bool) (netip.AddrPort, dialJob, bool) {
	if redial {
		if len(d.redialQ) == 0 {
			d.redialQ = nil
			return redials, dialJob{}, false
		}
		j := d.redialQ[0]
		d.redialQ = d.redialQ[1:]
		d.waiting--
		return redials, j, true
	}
	if len(d.ring) == 0 {
		return redials, dialJob{}, false
	}
	src := d.ring[0]
	d.ring = d.ring[1:]
	q := d.queues[src]
	j := q[0]
	if len(q) == 1 {
		delete(d.queues, src) // let go of the array a burst of lists grew
	} else {
		d.queues[src] = q[1:]
		d.ring = append(d.ring, src)
	}
	if len(d.ring) == 0 {
		d.ring = nil
	}
	d.waiting--
	return src, j, true
}

// reserve takes a token of the bucket and returns how long the dial must
// wait for it.
func (d *dialPool) reserve(now time.Time) time.Duration {
	if !d.refill.IsZero() {
		d.tokens = min(dialBurst, d.tokens+now.Sub(d.refill).Seconds()*dialRate)
	}
	d.refill = now
	d.tokens--
	if d.tokens >= 0 {
		return 0
	}
	return time.Duration(-d.tokens / dialRate * float64(time.Second))
}

// recentlyFailed reports whether a list dial of k failed less than a
// healthy interval ago.
func (d *dialPool) recentlyFailed(k netip.AddrPort, now time.Time) bool {
	until, ok := d.failed[k]
	if ok && now.After(until) {
		delete(d.failed, k)
		return false
	}
	return ok
}

// fail files k in the negative cache until until, after forgetting up to
// failForgets of the oldest entries that have expired by now: more than it
// files, so that expired entries never fill the cache, and few, so that a
// call is constant work.
func (d *dialPool) fail(k netip.AddrPort, now, until time.Time) {
	for i := 0; i < failForgets && len(d.failOrder) > 0; i++ {
		f := d.failOrder[0]
		t, ok := d.failed[f.k]
		if ok && t.Equal(f.until) && !now.After(t) {
			break
		}
		if ok && t.Equal(f.until) {
			delete(d.failed, f.k)
		}
		d.failOrder[0] = failure{}
		d.failOrder = d.failOrder[1:]
	}
	if len(d.failOrder) == 0 {
		d.failOrder = nil // let go of the array a burst grew
	}
	if len(d.failed) >= maxFailed {
		return
	}
	d.failed[k] = until
	d.failOrder = append(d.failOrder, failure{k, until})
}

// failForgets is how many expired entries fail forgets at most.
const failForgets = 4

// failure is an entry of the negative cache, in failOrder.
type failure struct {
	k     netip.AddrPort
	until time.Time
}

// dialer dials the redials or the list dials the pool holds, at the pool's
// pace, until there are none or the node closes.
func (n *Node) dialer(redial bool) {
	for {
		src, j, wait, ok, stale := n.nextDial(redial)
		if !ok {
			return
		}
		if stale {
			continue
		}
		err := n.pace(wait)
		if err == nil {
			why := byList
			if src == redials {
				why = byRedial
			}
			err = n.join(n.ctx, j.k, why)
		}
		if src == redials {
			n.emit(Event{Kind: EventReconnect, Addr: j.k, Err: err})
		} else {
			n.emit(Event{Kind: EventPeerListDial, Addr: j.k, Err: err})
		}
		spawn, gaveUp := n.dialed(src, j, err, time.Duration(n.healthy.Load()))
		if spawn {
			n.spawnDialer(false)
		}
		if gaveUp > 0 {
			n.log.Warn("giving up on a lost remote's claimed address, never reached", "remote", j.k.String(), "redials", gaveUp)
		}
	}
}

// pace waits d, or fails with ErrClosed once the node closes.
func (n *Node) pace(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-n.ctx.Done():
		return ErrClosed
	}
}

// dialedLocked records the outcome err of dial j for src: see dialed.
// m.mu must be held.
func (m *membership) dialedLocked(src netip.AddrPort, j dialJob, err error, failFor time.Duration) (spawn bool, gaveUp int) {
	d := &m.pool
	delete(d.queued, j.k)
	if src == redials {
		e := m.retry.get(j.k)
		if e == nil {
			return false, 0
		}
		if err == nil {
			e.fails, e.next = 0, 0
			return false, 0
		}
		e.fails++
		if m.givesUpLocked(j.k, e.fails) {
			m.retry.remove(j.k)
			return false, e.fails
		}
		e.next = d.tick + min(uint64(1)<<min(e.fails, 2), maxRedialBackoff)
		return false, 0
	}
	d.lists--
	switch {
	case err == nil || m.state.get() != nodeOpen:
	case errors.Is(err, ErrTimeout) && j.attempt < maxListAttempts:
		ok, spawn := m.queueDialLocked(src, j.k, j.attempt+1)
		if ok {
			return spawn, 0
		}
		fallthrough
	default:
		now := time.Now()
		d.fail(j.k, now, now.Add(failFor))
	}
	return false, 0
}
