package link

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/transport"
)

// A link is stalled only when nothing written to it has been taken by the
// network for the network timeout, however long one Write call blocks: Linux
// wakes a writer blocked on a full send buffer only once about a third of it
// has drained, which on a slow link can take longer than the timeout while
// the kernel is acknowledging bytes the whole time.
//
// A write is therefore judged by the count of unacknowledged bytes
// (transport.Unacked) as well as by its own progress, in one of two ways.
// Most connections survive a write deadline: writeLink gives each write half
// a timeout, and on each expiry looks at the count; the link is stalled
// once neither the write nor the count moved for a whole timeout. A write
// that does not block costs what a plain Write does, which keeps round trips
// near the wire's. A TLS connection is broken for good by a write deadline
// that passes, so there a watchdog (watchdog.go) watches the count while
// writes wait, each half timeout, and moves the deadline out while it
// changes; the deadline passes only on a stalled link. A connection
// without Unacked is judged by the progress of its writes alone. The link
// picks one of the two for each write (Link.writeConn).

// writeLink writes b to conn, a connection that survives a write deadline,
// failing with a timeout only once the link has made no progress for
// timeout.
func writeLink(conn net.Conn, b []byte, timeout time.Duration) error {
	u, _ := conn.(transport.Unacked)
	step := timeout / 2
	last, quiet := int64(-1), time.Duration(0)
	for {
		deadline := time.Now().Add(step)
		conn.SetWriteDeadline(deadline)
		n, err := conn.Write(b)
		b = b[n:]
		if err == nil || !IsTimeout(err) {
			return err
		}
		if len(b) == 0 {
			return nil // the deadline passed as the last byte went
		}
		if time.Now().Before(deadline) {
			return err // not our deadline: the connection cannot write again
		}
		count := unackedOf(u)
		if n > 0 || (count >= 0 && last >= 0 && count != last) {
			quiet = 0
		} else if quiet += step; quiet >= timeout {
			return err
		}
		last = count
	}
}

// unackedOf returns u's count of unacknowledged bytes, or -1 if u is nil or
// cannot tell.
func unackedOf(u transport.Unacked) int64 {
	if u == nil {
		return -1
	}
	n, err := u.Unacked()
	if err != nil {
		return -1
	}
	return int64(n)
}

// progress watches the unacknowledged bytes of one connection.
type progress struct {
	u    transport.Unacked // nil if the connection cannot tell
	last atomic.Int64      // the count last seen; -1 when unknown
}

// newProgress starts watching conn's unacknowledged bytes.
func newProgress(conn net.Conn) *progress {
	w := &progress{}
	w.u, _ = conn.(transport.Unacked)
	w.last.Store(unackedOf(w.u))
	return w
}

// moved reports whether the count changed since the last look: the
// network took bytes, or the kernel took more of ours.
func (w *progress) moved() bool {
	n := unackedOf(w.u)
	return n >= 0 && w.last.Swap(n) != n
}

// IsTimeout reports whether err is a deadline that passed, as a transport
// reports it.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
