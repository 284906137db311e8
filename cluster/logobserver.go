package cluster

import (
	"errors"
	"log/slog"
)

// logObserver is the node's logging: an Observer that writes each event a
// user must know of as a warning, the routine ones at debug level, and
// leaves out those that the statistics tell better (pongs, full queues,
// dials and connections that work).
type logObserver struct{ log *slog.Logger }

var _ Observer = logObserver{}

// Observe logs e, if it is worth a line.
func (l logObserver) Observe(e Event) {
	switch e.Kind {
	case EventAdded:
		l.log.Debug("remote added", "remote", e.Addr.String(), "dialled", e.Dialled)
	case EventRemoved:
		l.removed(e)
	case EventHandshakeFailed:
		switch {
		case errors.Is(e.Err, ErrLabelMismatch), errors.Is(e.Err, ErrNameConflict):
			l.identity(e)
		case !e.Dialled:
			l.refused(e)
		case errors.Is(e.Err, ErrIncompatible):
			// The caller of Add hears why; a redial or a peer list's dial
			// would say it only at debug level.
			l.log.Warn("cannot connect: incompatible peer", "remote", e.Addr.String(), "err", detail(e.Err))
		}
	case EventMoved:
		l.log.Info("remote moved: no longer redialling its old address", "name", e.Name, "remote", e.Addr.String(), "old", e.From.String())
	case EventSuspended:
		l.log.Warn("remote suspended: its window stays shut, so requests to it fail and broadcasts skip it until it opens",
			"remote", e.Addr.String(), "shut_for", e.Wait, "queued", e.Count)
	case EventResumed:
		l.log.Info("remote resumed: its window opened", "remote", e.Addr.String(), "suspended_for", e.Wait)
	case EventAcceptFailed:
		l.log.Warn("accept failed", "err", e.Err, "retry_in", e.Wait)
	case EventReconnect:
		if errors.Is(e.Err, errGoneBefore) {
			l.log.Info("remote refused a redial after a goodbye: no longer redialling it", "remote", e.Addr.String())
		} else if e.Err != nil {
			l.log.Debug("reconnect failed", "remote", e.Addr.String(), "err", e.Err)
		}
	case EventPeerListDial:
		switch {
		case errors.Is(e.Err, errListQueue):
			l.log.Debug("too many peer-list dials waiting; skipping", "remote", e.Addr.String())
		case e.Err != nil:
			l.log.Debug("cannot reach remote from peer list", "remote", e.Addr.String(), "err", e.Err)
		}
	case EventPeerList:
		if e.Err != nil {
			l.log.Error("cannot encode peer list", "remote", e.Addr.String(), "err", e.Err)
		}
	case EventDiscarded:
		if errors.Is(e.Err, ErrLocalLeave) {
			l.log.Warn("closing remote before its queued messages could go out", "remote", e.Addr.String(), "discarded", e.Count)
		} else {
			l.log.Warn("remote left before its queued messages could go out", "remote", e.Addr.String(), "discarded", e.Count)
		}
	case EventGoodbye:
		if errors.Is(e.Err, ErrTimeout) {
			l.log.Debug("remote did not acknowledge goodbye", "remote", e.Addr.String())
		}
	case EventBroadcastFailed:
		if e.Addr.IsValid() {
			l.log.Debug("broadcast", "remote", e.Addr.String(), "err", e.Err)
		} else {
			l.log.Debug("broadcast", "bytes", e.Bytes, "err", e.Err)
		}
	}
}

// removed logs a removal: a warning if it was not meant to happen.
func (l logObserver) removed(e Event) {
	remote := e.Addr.String()
	switch {
	case errors.Is(e.Err, ErrLocalLeave):
		l.log.Debug("remote closed", "remote", remote)
	case errors.Is(e.Err, ErrRemoteLeave):
		l.log.Debug("remote left", "remote", remote)
	case errors.Is(e.Err, ErrReplaced):
	case errors.Is(e.Err, ErrProtocol):
		l.log.Warn("dropping remote: bad input", "remote", remote, "err", detail(e.Err), "discarded", e.Count)
	default:
		l.log.Warn("remote lost", "remote", remote, "err", detail(e.Err), "discarded", e.Count)
	}
}

// identity logs, as a warning, a refusal for a node's identity, either way:
// a label of another cluster, or a name in use.
func (l logObserver) identity(e Event) {
	from := e.Addr.String()
	if e.From != nil {
		from = e.From.String()
	}
	label, name := "refusing a node of another cluster", "refusing a node: another live node has the name"
	if e.Dialled {
		label, name = "cannot connect: a node of another cluster", "cannot connect: another live node has the name"
	}
	if errors.Is(e.Err, ErrLabelMismatch) {
		l.log.Warn(label, "remote", from, "remote_label", e.Label, "err", detail(e.Err))
	} else {
		l.log.Warn(name, "remote", from, "name", e.Name, "err", detail(e.Err))
	}
}

// refused logs why an incoming connection was not taken: quietly for the
// routine (a peer that hung up or went silent, a duplicate), loudly for the
// rest (input that breaks the protocol, failed authentication, a TLS
// handshake that failed).
func (l logObserver) refused(e Event) {
	from := e.From.String()
	err := detail(e.Err)
	switch {
	case errors.Is(e.Err, ErrProtocol):
		l.log.Warn("dropping connection: bad handshake", "from", from, "err", err)
	case errors.Is(e.Err, ErrAuth):
		l.log.Warn("dropping connection: authentication failed", "from", from)
	case errors.Is(e.Err, ErrRejected):
		l.log.Debug("connection refused", "from", from, "err", err)
	case errors.Is(e.Err, ErrTimeout):
		l.log.Debug("connection dropped in handshake: timeout", "from", from, "err", err)
	case errors.Is(e.Err, ErrConnLost):
		l.log.Debug("connection dropped in handshake", "from", from, "err", err)
	default:
		l.log.Warn("dropping connection: handshake failed", "from", from, "err", err)
	}
}
