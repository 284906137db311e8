package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// An Observer hears of everything that happens inside a node, as Events: the
// connections it makes and takes, their handshakes, the remotes it adds and
// removes and why, goodbyes, health checks, full queues and discarded
// messages. The node's logging is one Observer, always there; WithObserver
// adds more, such as one that counts, traces or tests.
//
// The node calls Observe synchronously, on the goroutine that did the work,
// never with a lock of the node held: it may call the node's methods, Close
// included (see Close for how it then returns), but CloseRemote, which may
// wait for the goroutine calling Observe (call it from a goroutine of your
// own). What it does delays that work, so it should be quick and hand
// anything slow to a goroutine of its own. Calls come from several
// goroutines at once; the events of one connection come in the order they
// happened. No call starts once Close has returned.
//
// No event is about a single message in the normal course of things, so an
// Observer costs nothing per message sent or received; EventQueueFull comes
// only when a Send has to wait for room.
type Observer interface {
	Observe(Event)
}

// ObserverFunc makes a function an Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// WithObserver makes o hear of every event of the node from the start, as
// well as the node's logger. Several WithObserver options add several
// observers, called in order.
func WithObserver(o Observer) Option {
	return func(c *config) {
		if o != nil {
			c.observers = append(c.observers, o)
		}
	}
}

// observers calls each of several observers in turn.
type observers []Observer

func (all observers) Observe(e Event) {
	for _, o := range all {
		o.Observe(e)
	}
}

// newObserver returns the node's observers as one, or nil for none.
func newObserver(all []Observer) Observer {
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	return observers(all)
}

// emit tells the node's statistics, its logger and its observers of e:
// the synchronous views of the pipeline (events). The observers are hooks,
// which do not start once Close has returned; the statistics and the logger
// hear of every event. It must not be called with the node lock or a peer's
// mu held.
func (n *Node) emit(e Event) {
	n.stats.observe(e)
	n.logs.Observe(e)
	if n.observer == nil {
		return
	}
	if t, ok := n.events.hooks.enter(); ok {
		n.observer.Observe(e)
		n.events.hooks.exit(t)
	}
}

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of events, and the fields of Event that each sets besides Kind.
const (
	// EventAccepted: a connection came in, from From; its handshake
	// follows.
	EventAccepted EventKind = iota + 1
	// EventAcceptFailed: the listener failed to accept, with Err (out of
	// file descriptors, say); the node tries again after Wait.
	EventAcceptFailed
	// EventDial: the node dialled Addr. Err is nil once the transport
	// connected, and the handshake follows; otherwise it says why the dial
	// failed, matching ErrTimeout if it took the network timeout.
	EventDial
	// EventHandshakeFailed: a connection, dialled by this node (Dialled)
	// or from From, did not become a remote. Err says why and matches one
	// of ErrIncompatible, ErrAuth, ErrRejected, ErrProtocol, ErrTimeout and
	// ErrConnLost, or none for a failure of the transport's own (such as a
	// TLS handshake); ErrLabelMismatch and ErrNameConflict match an
	// identity refusal. Addr is the remote's listen address, and Name and
	// Label its name and label, once its hello named them.
	EventHandshakeFailed
	// EventAdded: Addr is a remote, over a connection this node dialled
	// (Dialled) or accepted.
	EventAdded
	// EventRemoved: Addr is no longer a remote. Err, its cause, matches
	// exactly one of ErrSilence, ErrWriteStalled, ErrConnLost, ErrProtocol
	// (the node then redials it), ErrLocalLeave, ErrRemoteLeave and
	// ErrReplaced. Count is how many queued messages to it were discarded.
	EventRemoved
	// EventGoodbye: the goodbye this node said to Addr (Close,
	// CloseRemote) is over. Err is nil if Addr acknowledged it, and
	// matches ErrTimeout if it did not within the network timeout, or
	// ErrConnLost if the connection ended first.
	EventGoodbye
	// EventDiscarded: Count messages queued for Addr were discarded at a
	// goodbye, because they could not go out in time: Err is ErrLocalLeave
	// (this node left) or ErrRemoteLeave (Addr left).
	EventDiscarded
	// EventPong: Addr answered a health check after RTT.
	EventPong
	// EventQueueFull: a Send of Bytes to Addr found the queue full and
	// waited Wait for room. Err is nil if room came, or why Send gave up
	// (ErrTimeout, the context's error, ErrUnknownRemote, or, for
	// Broadcast, ErrStalled when Addr was suspended meanwhile).
	EventQueueFull
	// EventBroadcastFailed: Broadcast could not queue Bytes for Addr, or,
	// with no Addr, for anyone; Err says why, as Send's error would, or
	// matches ErrStalled if Addr is suspended (see EventSuspended).
	EventBroadcastFailed
	// EventPeerList: Addr sent its peer list, of Count addresses. With
	// Err, this node could not encode its own list for Addr instead (a
	// codec error).
	EventPeerList
	// EventPeerListDial: the node tried to join Addr, an address a peer
	// list named. Err is nil if Addr is a remote now (or turned out to be
	// this node), or says why not.
	EventPeerListDial
	// EventReconnect: the node redialled Addr, a remote it lost
	// ungracefully. Err is nil if Addr is a remote again, or says why not;
	// the node tries again every reconnect interval.
	EventReconnect
	// EventMoved: the node of name Name, lost at From, connected again at
	// Addr (see WithName): its old address leaves the reconnect set.
	EventMoved
	// EventSuspended: Addr's window has stayed shut for Wait, with Count
	// messages of Bytes bytes waiting for it, while it answered health
	// checks, and the node suspended it: Err matches ErrStalled (see
	// Backpressure in the package doc). It stays a remote.
	EventSuspended
	// EventResumed: Addr's window opened again after it had been
	// suspended for Wait.
	EventResumed
)

var kindNames = [...]string{
	EventAccepted:        "accepted",
	EventAcceptFailed:    "accept failed",
	EventDial:            "dial",
	EventHandshakeFailed: "handshake failed",
	EventAdded:           "added",
	EventRemoved:         "removed",
	EventGoodbye:         "goodbye",
	EventDiscarded:       "discarded",
	EventPong:            "pong",
	EventQueueFull:       "queue full",
	EventBroadcastFailed: "broadcast failed",
	EventPeerList:        "peer list",
	EventPeerListDial:    "peer list dial",
	EventReconnect:       "reconnect",
	EventMoved:           "moved",
	EventSuspended:       "suspended",
	EventResumed:         "resumed",
}

// String names the kind in a few words, such as "handshake failed".
func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// An Event is one thing that happened inside a node, for an Observer. Kind
// says what, and which of the other fields it sets (see EventKind); the
// others are zero.
type Event struct {
	Kind EventKind
	// Addr is the listen address of the remote the event is about, the
	// address Remote returns; it is the zero AddrPort when that is not
	// known, as for a connection that came in and has not said hello.
	Addr netip.AddrPort
	// From is the far end of a connection that came in: the address it
	// comes from, not the one it listens on.
	From net.Addr
	// Dialled says that this node dialled the connection.
	Dialled bool
	// Err is the cause or the outcome; test it with errors.Is.
	Err error
	// Count is a number of messages or addresses.
	Count int
	// Bytes is the size of a payload.
	Bytes int
	// RTT is the round trip of a health check.
	RTT time.Duration
	// Wait is how long something waited, or will.
	Wait time.Duration
	// Name and Label are the remote's name and cluster label, where the
	// event is about them (EventHandshakeFailed, EventMoved).
	Name, Label string
}

// Remote returns Addr as a Remote, as the node's other methods take it.
func (e Event) Remote() Remote { return remoteOf(e.Addr) }

// String describes the event in one line, such as
// "removed 10.0.0.2:7946: cluster: remote silent: read tcp ...: i/o timeout".
// Durations are left out, so that the line of an event is the same from one
// run to the next.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Addr.IsValid() {
		b.WriteString(" " + e.Addr.String())
	}
	if e.From != nil {
		b.WriteString(" from " + e.From.String())
	}
	if e.Dialled {
		b.WriteString(" (dialled)")
	}
	switch e.Kind {
	case EventRemoved, EventDiscarded:
		if e.Count > 0 {
			fmt.Fprintf(&b, ", %d discarded", e.Count)
		}
	case EventPeerList:
		if e.Err == nil {
			fmt.Fprintf(&b, " of %d", e.Count)
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}
