package cluster

import (
	"errors"
	"fmt"
	"net/netip"

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
)

// joins reports whether the node dials on its own behalf: a join
// connection (peerlist.go).
func (c dialCause) joins() bool { return c != byList }

// errGoneBefore is why a redial failed: the remote said goodbye, or was
// told it, and refuses a redial.
var errGoneBefore = errors.New("the remote refuses to be redialled after a goodbye")

// goneLocked reports whether p's dialler is an instance that left
// gracefully and dials by a peer list or to reconnect. n.mu must be held.
func (n *Node) goneLocked(p *peer) bool {
	l, gone := n.left[p.key]
	return gone && (!p.join || p.redial) && l.nonce == string(p.nonce)
}

// refusedAsGone handles a RejectGone from the node dialled at k: a goodbye
// at k, confirmed, and for a redial the one this node missed. k is filed
// as left, not the address the refuser claimed (confirm.go), so that
// neither a redial nor a peer list dials it again.
func (n *Node) refusedAsGone(k netip.AddrPort, p *peer, why dialCause) error {
	n.mu.Lock()
	n.unretryLocked(k)
	n.markLeft(k, p.nonce)
	n.mu.Unlock()
	if why != byRedial {
		return fmt.Errorf("%w: %s", ErrRejected, rejectReason(wire.RejectGone))
	}
	return fmt.Errorf("%w: %w", ErrRejected, errGoneBefore)
}
