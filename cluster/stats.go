package cluster

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// Stats are a node's statistics, from Node.Stats: what it holds now, and
// counts since it started, over every connection it had.
type Stats struct {
	// Remotes is how many remotes the node is connected to.
	Remotes int
	// Reconnecting is how many remotes it lost ungracefully and redials
	// every reconnect interval.
	Reconnecting int
	// InboxDepth is how many messages wait in Inbox, and InboxWaiting how
	// many more wait in the node for room in it (see WithReceiveWindow).
	InboxDepth, InboxWaiting int
	// QueuedBytes is how many bytes of messages wait to be written to the
	// remotes, frame headers included.
	QueuedBytes int

	// Messages and payload bytes written to remotes and read from them.
	// A request and a reply (Request, Query) count as one message each,
	// their payloads as bytes; control frames (hellos, health checks, peer
	// lists, goodbyes) count as neither.
	MessagesSent, BytesSent, MessagesReceived, BytesReceived uint64
	// MessagesDropped counts messages that Send accepted but that never
	// went out: discarded when a connection broke, or at a goodbye.
	MessagesDropped uint64
	// Reconnects counts redials of remotes lost ungracefully.
	Reconnects uint64
	// Handshakes counts handshakes by outcome, and Removals removals by
	// cause.
	Handshakes Handshakes
	Removals   Removals
}

// Handshakes counts the handshakes a node took part in, either side, by
// outcome: admitted, or failed with an error matching the named one (see
// EventHandshakeFailed). A dialler whose connection the acceptor declined
// because it had another to the same node, or was the dialler itself,
// counts nothing, since nothing failed; the acceptor counts it Rejected.
type Handshakes struct {
	Admitted     uint64
	Incompatible uint64 // ErrIncompatible: another protocol version or codec, or not peerweave
	Auth         uint64 // ErrAuth: the shared secrets differ
	Rejected     uint64 // ErrRejected: a duplicate, the node itself, a node closing or one that left, a name or label refused (ErrNameConflict, ErrLabelMismatch)
	Protocol     uint64 // ErrProtocol, other than Incompatible
	Timeout      uint64 // ErrTimeout
	Lost         uint64 // ErrConnLost: the connection ended
	Other        uint64 // the transport's own, such as a TLS handshake that failed
}

// Failed returns how many handshakes failed, whatever the outcome.
func (h Handshakes) Failed() uint64 {
	return h.Incompatible + h.Auth + h.Rejected + h.Protocol + h.Timeout + h.Lost + h.Other
}

// Removals counts the removals of remotes by cause (see EventRemoved).
type Removals struct {
	Silence      uint64 // ErrSilence
	WriteStalled uint64 // ErrWriteStalled
	ConnLost     uint64 // ErrConnLost
	Protocol     uint64 // ErrProtocol
	LocalLeave   uint64 // ErrLocalLeave
	RemoteLeave  uint64 // ErrRemoteLeave
	Replaced     uint64 // ErrReplaced
}

// RemoteStats are the statistics of one remote, from Node.RemoteStats: of
// its connection, if it is connected, and of the remote since the node
// first lost it ungracefully, if it did, until it leaves gracefully.
type RemoteStats struct {
	Remote Remote
	// Connected says the remote is connected; if not, the node lost it
	// ungracefully and redials it, and the fields of the connection are
	// zero.
	Connected bool

	// Of the connection: when it was admitted, and whether this node
	// dialled it.
	ConnectedSince time.Time
	Dialled        bool
	// RTT is the round trip of the last health check the remote answered,
	// and SmoothedRTT their average, weighted to the recent as TCP's SRTT
	// is (RFC 6298: each new sample counts 1/8); zero before the first.
	RTT, SmoothedRTT time.Duration
	// Messages and payload bytes written to the remote and read from it on
	// this connection, requests and replies included (see Stats).
	MessagesSent, BytesSent, MessagesReceived, BytesReceived uint64
	// What waits to be written to it: messages, and bytes with frame
	// headers.
	QueuedMessages, QueuedBytes int

	// Since the node first lost the remote ungracefully: the messages
	// discarded with its connections, the redials, and the last error that
	// removed it or failed a redial.
	MessagesDropped uint64
	Reconnects      uint64
	LastError       error
}

// Stats returns the node's statistics. It takes no lock of a connection,
// and the node's own only for a moment: call it as often as a scraper does.
func (n *Node) Stats() Stats {
	s := Stats{InboxDepth: len(n.Inbox)}
	n.mu.Lock()
	s.Reconnecting = len(n.retry)
	n.mu.Unlock()
	n.remotes.each(func(p *peer) {
		s.Remotes++
		s.InboxWaiting += int(p.in.parked.Load())
	})
	st := &n.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.retired
	for p := range st.counting {
		t.add(p.traffic())
		s.QueuedBytes += int(p.st.queuedBytes.Load())
	}
	s.MessagesSent, s.BytesSent, s.MessagesReceived, s.BytesReceived = t.msgsOut, t.bytesOut, t.msgsIn, t.bytesIn
	s.MessagesDropped, s.Reconnects = st.dropped, st.reconnects
	s.Handshakes, s.Removals = st.handshakes, st.removals
	return s
}

// RemoteStats returns the statistics of remote r, and false if r is neither
// a remote nor one the node redials.
func (n *Node) RemoteStats(r Remote) (RemoteStats, bool) {
	return n.remoteStats(r.key())
}

// AllRemoteStats returns the statistics of every remote, and of every
// remote the node redials, sorted by address.
func (n *Node) AllRemoteStats() []RemoteStats {
	var keys []netip.AddrPort
	n.remotes.each(func(p *peer) { keys = append(keys, p.key) })
	n.stats.mu.Lock()
	for k := range n.stats.history {
		keys = append(keys, k)
	}
	n.stats.mu.Unlock()
	slices.SortFunc(keys, compareKeys)
	keys = slices.Compact(keys)
	all := make([]RemoteStats, 0, len(keys))
	for _, k := range keys {
		if s, ok := n.remoteStats(k); ok {
			all = append(all, s)
		}
	}
	return all
}

func (n *Node) remoteStats(k netip.AddrPort) (RemoteStats, bool) {
	p := n.remotes.get(k)
	n.mu.Lock()
	_, retrying := n.retry[k]
	n.mu.Unlock()
	st := &n.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	h := st.history[k]
	if p == nil && !retrying {
		// Left gracefully, or was closed while it was redialled.
		delete(st.history, k)
		return RemoteStats{}, false
	}
	s := RemoteStats{Remote: remoteOf(k)}
	if p != nil {
		s.Connected = true
		t := p.traffic()
		s.MessagesSent, s.BytesSent, s.MessagesReceived, s.BytesReceived = t.msgsOut, t.bytesOut, t.msgsIn, t.bytesIn
		if since := p.st.since.Load(); since != 0 {
			s.ConnectedSince = time.Unix(0, since)
		}
		s.Dialled = p.st.dialled.Load()
		s.RTT, s.SmoothedRTT = time.Duration(p.st.rtt.Load()), time.Duration(p.st.srtt.Load())
		s.QueuedMessages, s.QueuedBytes = int(p.st.queuedMsgs.Load()), int(p.st.queuedBytes.Load())
	}
	if h != nil {
		s.MessagesDropped, s.Reconnects, s.LastError = h.dropped, h.reconnects, h.lastErr
	}
	return s, true
}

// nodeStats are the counts behind Stats that are not a connection's. Events
// update them (observe), never a message: they are rare.
type nodeStats struct {
	mu         sync.Mutex // guards the fields below, and is taken before a peer's mu
	handshakes Handshakes
	removals   Removals
	dropped    uint64
	reconnects uint64
	// counting holds the peers whose reader or writer may still count;
	// retired adds up those that no longer may.
	counting map[*peer]struct{}
	retired  traffic
	// history is what the node remembers of the remotes it lost
	// ungracefully, until they leave gracefully.
	history map[netip.AddrPort]*history
}

// history is what a node remembers of a remote it lost ungracefully.
type history struct {
	dropped, reconnects uint64
	lastErr             error
}

// traffic is what crossed one or more connections.
type traffic struct{ msgsOut, bytesOut, msgsIn, bytesIn uint64 }

func (t *traffic) add(o traffic) {
	t.msgsOut += o.msgsOut
	t.bytesOut += o.bytesOut
	t.msgsIn += o.msgsIn
	t.bytesIn += o.bytesIn
}

// historyLocked returns the history of k, new if need be. st.mu must be
// held.
func (st *nodeStats) historyLocked(k netip.AddrPort) *history {
	h := st.history[k]
	if h == nil {
		if st.history == nil {
			st.history = make(map[netip.AddrPort]*history)
		}
		h = new(history)
		st.history[k] = h
	}
	return h
}

// observe counts what e reports.
func (st *nodeStats) observe(e Event) {
	switch e.Kind {
	case EventAdded, EventHandshakeFailed, EventRemoved, EventDiscarded, EventReconnect:
	default:
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch e.Kind {
	case EventAdded:
		st.handshakes.Admitted++
	case EventHandshakeFailed:
		*st.handshakes.outcome(e.Err)++
	case EventRemoved:
		*st.removals.cause(e.Err)++
		st.dropped += uint64(e.Count)
		if errors.Is(e.Err, ErrLocalLeave) || errors.Is(e.Err, ErrRemoteLeave) {
			delete(st.history, e.Addr)
			return
		}
		h := st.historyLocked(e.Addr)
		h.dropped += uint64(e.Count)
		h.lastErr = e.Err
	case EventDiscarded:
		st.dropped += uint64(e.Count)
	case EventReconnect:
		st.reconnects++
		h := st.historyLocked(e.Addr)
		h.reconnects++
		if e.Err != nil {
			h.lastErr = e.Err
		}
	}
}

// outcome returns the count of the outcome of a failed handshake.
func (h *Handshakes) outcome(err error) *uint64 {
	switch {
	case errors.Is(err, ErrIncompatible):
		return &h.Incompatible
	case errors.Is(err, ErrAuth):
		return &h.Auth
	case errors.Is(err, ErrRejected):
		return &h.Rejected
	case errors.Is(err, ErrProtocol):
		return &h.Protocol
	case errors.Is(err, ErrTimeout):
		return &h.Timeout
	case errors.Is(err, ErrConnLost):
		return &h.Lost
	}
	return &h.Other
}

// cause returns the count of the cause of a removal.
func (r *Removals) cause(err error) *uint64 {
	switch {
	case errors.Is(err, ErrSilence):
		return &r.Silence
	case errors.Is(err, ErrWriteStalled):
		return &r.WriteStalled
	case errors.Is(err, ErrProtocol):
		return &r.Protocol
	case errors.Is(err, ErrLocalLeave):
		return &r.LocalLeave
	case errors.Is(err, ErrRemoteLeave):
		return &r.RemoteLeave
	case errors.Is(err, ErrReplaced):
		return &r.Replaced
	}
	return &r.ConnLost
}

// peerStats are a connection's counts. Each has one writer, the goroutine
// that does the work it counts, so counting costs no lock and no contended
// atomic; readers load them, and so take no lock of the connection.
type peerStats struct {
	since   atomic.Int64 // Unix nanoseconds when admitted
	dialled atomic.Bool

	// The health loop's and the reader's: pings is how many health checks
	// are unanswered, and pingAt when the oldest of them went out, if it
	// was the only one (0 otherwise), so that its answer times it.
	pings  atomic.Int32
	pingAt atomic.Int64
	// answered, if set, is closed by the next pong: a check of the
	// connection waits on it (confirm.go).
	answered atomic.Pointer[chan struct{}]
	_        [64]byte // the reader's counts apart from the writer's

	// The reader's.
	rtt, srtt       atomic.Int64 // time.Duration
	msgsIn, bytesIn atomic.Uint64
	_               [64]byte
	// Written under the peer's mu, by whoever changes the send queue
	// (publishQueue) or takes from it (take).
	msgsOut, bytesOut       atomic.Uint64
	queuedMsgs, queuedBytes atomic.Int64
}

// publishQueue publishes the length of p's send queue to its statistics.
// p.mu must be held.
func (p *peer) publishQueue() {
	p.st.queuedMsgs.Store(int64(p.queued))
	p.st.queuedBytes.Store(int64(p.queuedBytes()))
}

// traffic returns what crossed p's connection so far.
func (p *peer) traffic() traffic {
	return traffic{
		msgsOut: p.st.msgsOut.Load(), bytesOut: p.st.bytesOut.Load(),
		msgsIn: p.st.msgsIn.Load(), bytesIn: p.st.bytesIn.Load(),
	}
}

// received counts a message of size bytes read. The reader calls it.
func (s *peerStats) received(size int) {
	s.msgsIn.Store(s.msgsIn.Load() + 1)
	s.bytesIn.Store(s.bytesIn.Load() + uint64(size))
}

// ping queues a health check, timing it if no other is unanswered.
func (p *peer) ping() {
	if p.st.pings.Add(1) == 1 {
		p.st.pingAt.Store(monotonic())
	}
	p.probe(wire.KindPing)
}

// pong takes the answer to the oldest health check. The reader calls it.
func (p *peer) pong() {
	if c := p.st.answered.Swap(nil); c != nil {
		close(*c)
	}
	at := p.st.pingAt.Swap(0)
	for {
		// An answer to no ping, from a peer that breaks the protocol,
		// must not make the count negative.
		c := p.st.pings.Load()
		if c <= 0 || p.st.pings.CompareAndSwap(c, c-1) {
			break
		}
	}
	if at == 0 {
		return
	}
	rtt := time.Duration(monotonic() - at)
	srtt := time.Duration(p.st.srtt.Load())
	if srtt == 0 {
		srtt = rtt
	} else {
		srtt += (rtt - srtt) / 8
	}
	p.st.rtt.Store(int64(rtt))
	p.st.srtt.Store(int64(srtt))
	p.n.emit(Event{Kind: EventPong, Addr: p.key, RTT: rtt})
}

// monotonic returns the time on the monotonic clock, in nanoseconds since
// the package started, never 0.
func monotonic() int64 { return int64(time.Since(epoch)) + 1 }

var epoch = time.Now()

// added starts counting p, just admitted, and tells of it.
func (n *Node) added(p *peer, dialled bool) {
	p.st.since.Store(time.Now().UnixNano())
	p.st.dialled.Store(dialled)
	st := &n.stats
	st.mu.Lock()
	if st.counting == nil {
		st.counting = make(map[*peer]struct{})
	}
	st.counting[p] = struct{}{}
	st.mu.Unlock()
	n.emit(Event{Kind: EventAdded, Addr: p.key, Dialled: dialled})
}

// exit tells the statistics that p's reader has returned, after the last
// of its writers (stopWriters): p's counts are final, and join the node's
// retired ones.
func (p *peer) exit() {
	st := &p.n.stats
	st.mu.Lock()
	st.retired.add(p.traffic())
	delete(st.counting, p)
	st.mu.Unlock()
}
