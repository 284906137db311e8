package cluster

import (
	"container/list"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// A goodbye is a goodbye: two nodes that said it, either way, come together
// again only by an explicit Add on either side. A node remembers the
// instances it said goodbye to or was told goodbye by (markLeft), and
// refuses with RejectGone their dials that a peer list caused and their
// redials: a goodbye lost on its way, to a reset say, leaves the other side
// taking the connection for lost and redialling it. The redialler, refused
// so, takes it as the goodbye it missed: it stops redialling, and its
// reconnect fails with errGoneBefore, which the log reports. A dial of Add
// carries no Redial in its hello, and is admitted.

// dialCause says why a node dials.
type dialCause uint8

const (
	byList   dialCause = iota // a peer list named the address
	byAdd                     // Add
	byRedial                  // the reconnect loop redials a remote it lost
	// byCheck: the node checks whether a name's holder still answers at
	// its address (confirm.go). It dials as a redial does, but a refusal
	// as a duplicate is the holder's answer, not a connection to wait for.
	byCheck
)

// joins reports whether the node dials on its own behalf: a join
// connection (peerlist.go).
func (c dialCause) joins() bool { return c != byList }

// redials reports whether the node dials a remote it had: its hello says
// so, and a refusal as gone is the goodbye it missed.
func (c dialCause) redials() bool { return c == byRedial || c == byCheck }

// answeredAs is what a check dial (byCheck) returns when the node it
// reached refused it as a duplicate: that node, whose hello gave name, is
// connected to this one already, so it answers at the address dialled.
type answeredAs struct{ name string }

func (a answeredAs) Error() string {
	return fmt.Sprintf("%q answered: connected to this node already", a.name)
}

// errGoneBefore is why a redial failed: the remote said goodbye, or was
// told it, and refuses a redial.
var errGoneBefore = errors.New("the remote refuses to be redialled after a goodbye")

// goneLocked reports whether p's dialler is an instance that left
// gracefully and dials by a peer list or to reconnect. m.mu must be held.
func (m *membership) goneLocked(p *peer) bool {
	l, gone := m.left.get(p.key)
	return gone && (!p.join || p.redial) && l.nonce == string(p.nonce)
}

// markLeft remembers that k, the instance with nonce if known, left
// gracefully, so that stale peer lists do not bring it back, and stops
// redialling it. Past maxLeft leavers, the oldest is forgotten. m.mu must
// be held.
func (m *membership) markLeft(k netip.AddrPort, nonce []byte) {
	m.unretryLocked(k)
	m.left.put(k, departure{at: time.Now(), nonce: string(nonce)})
}

// refusedAsGone handles a RejectGone from the node dialled at k: a goodbye
// at k, confirmed, and for a redial the one this node missed. k is filed
// as left, not the address the refuser claimed (confirm.go), so that
// neither a redial nor a peer list dials it again.
func (n *Node) refusedAsGone(k netip.AddrPort, p *peer, why dialCause) error {
	n.goneOnRefusal(k, p.nonce)
	if !why.redials() {
		return fmt.Errorf("%w: %s", ErrRejected, rejectReason(wire.RejectGone))
	}
	return fmt.Errorf("%w: %w", ErrRejected, errGoneBefore)
}

// reconnectSet holds the remotes the node redials, lost ungracefully, with
// the name each had and its backoff, in the order the reconnect loop takes
// them in turn (redialNext), one under each hold of the node lock. The node
// lock guards it.
type reconnectSet struct {
	byKey map[netip.AddrPort]*list.Element // of *retryEntry
	order list.List
}

// retryEntry is an address of the reconnect set.
type retryEntry struct {
	key   netip.AddrPort
	name  string // the remote's name, or "" if unknown
	fails int    // failed redials in a row
	next  uint64 // the reconnect tick from which it is redialled again
}

func (s *reconnectSet) init() { s.byKey = make(map[netip.AddrPort]*list.Element) }

func (s *reconnectSet) len() int { return len(s.byKey) }

func (s *reconnectSet) has(k netip.AddrPort) bool {
	_, ok := s.byKey[k]
	return ok
}

// get returns k's entry, or nil.
func (s *reconnectSet) get(k netip.AddrPort) *retryEntry {
	if e, ok := s.byKey[k]; ok {
		return e.Value.(*retryEntry)
	}
	return nil
}

// put adds k under name, or renames it, keeping its backoff.
func (s *reconnectSet) put(k netip.AddrPort, name string) {
	if e := s.get(k); e != nil {
		e.name = name
		return
	}
	s.byKey[k] = s.order.PushBack(&retryEntry{key: k, name: name})
}

// remove takes k out.
func (s *reconnectSet) remove(k netip.AddrPort) {
	if e, ok := s.byKey[k]; ok {
		s.order.Remove(e)
		delete(s.byKey, k)
	}
}

// rotate returns the entry whose turn it is, and makes it the last; nil if
// the set is empty.
func (s *reconnectSet) rotate() *retryEntry {
	e := s.order.Front()
	if e == nil {
		return nil
	}
	s.order.MoveToBack(e)
	return e.Value.(*retryEntry)
}

// leavers are the graceful leavers a node remembers, oldest first, so that
// the oldest is forgotten without a scan.
type leavers struct {
	byKey map[netip.AddrPort]*list.Element // of leaver, in order
	order list.List
}

// leaver is a departure and who departed.
type leaver struct {
	key netip.AddrPort
	departure
}

func (l *leavers) init() { l.byKey = make(map[netip.AddrPort]*list.Element) }

// get returns the departure of k, if it left.
func (l *leavers) get(k netip.AddrPort) (departure, bool) {
	e, ok := l.byKey[k]
	if !ok {
		return departure{}, false
	}
	return e.Value.(leaver).departure, true
}

// put files k's departure d as the newest, forgetting the oldest past
// maxLeft.
func (l *leavers) put(k netip.AddrPort, d departure) {
	l.remove(k)
	if len(l.byKey) >= maxLeft {
		l.remove(l.order.Front().Value.(leaver).key)
	}
	l.byKey[k] = l.order.PushBack(leaver{k, d})
}

// remove forgets k's departure.
func (l *leavers) remove(k netip.AddrPort) {
	if e, ok := l.byKey[k]; ok {
		l.order.Remove(e)
		delete(l.byKey, k)
	}
}
