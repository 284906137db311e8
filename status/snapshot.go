package status

import (
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/peerweave/peerweave/cluster"
)

// Status is what the page shows, and what it serves as JSON with
// ?format=json: the fields below, named as in Go, durations in nanoseconds
// and times in RFC 3339. Strings that remotes supply (names, tags, errors)
// are clipped, and lists bounded, so that a page has a bounded size
// whatever its peers claim.
type Status struct {
	// Time is when the status was taken.
	Time time.Time
	// Node is the node itself.
	Node Node
	// Stats are the node's totals.
	Stats cluster.Stats
	// Remotes are the connected remotes, and Reconnecting the reconnect
	// set: the remotes lost ungracefully that the node redials. Both are
	// sorted by address; Omitted counts those left out past the page's
	// limit (WithMaxRemotes).
	Remotes, Reconnecting []Remote
	Omitted               int
	// Events are the Recorder's events, newest first; Recording says that
	// the page has a Recorder (WithRecorder), without which Events is
	// always empty.
	Events    []Event
	Recording bool
}

// Node is the identity and settings of the node a page shows.
type Node struct {
	// Address is the address the other nodes know it by (Node.Self), and
	// Listen the one it listens on.
	Address, Listen string
	Name, Label     string
	Tags            map[string]string
	// The node's intervals; NetworkTimeout is the bound the page measures
	// round trips against (see Remote.Health).
	HealthyInterval, NetworkTimeout, ReconnectInterval time.Duration
}

// Remote is one remote of the node, connected or redialled.
type Remote struct {
	Address string
	// Name and Tags are what the remote claimed in its handshake and
	// since; a remote being redialled has none.
	Name string
	Tags map[string]string
	// State is "connected" or "reconnecting".
	State string
	// Health sums up the link, as the picture colours it: "good", "slow"
	// (a round trip of a quarter of the network timeout or more, an error
	// or a Send that waited for room within the last healthy interval plus
	// network timeout), "bad" (a round trip of half the network timeout or
	// more), "unknown" (no health check answered yet) or "lost" (being
	// redialled).
	Health string
	// Of the connection, as in cluster.RemoteStats.
	ConnectedSince                                           time.Time `json:",omitzero"`
	Dialled                                                  bool
	RTT, SmoothedRTT                                         time.Duration
	MessagesSent, BytesSent, MessagesReceived, BytesReceived uint64
	QueuedMessages, QueuedBytes                              int
	// SendWaits counts the Sends that found the remote's queue full and
	// waited for room: its receive window stayed closed, or the link was
	// slower than the sender; counted by the Recorder, so zero without one.
	SendWaits uint64
	// Since the node first lost the remote ungracefully, as in
	// cluster.RemoteStats.
	MessagesDropped, Reconnects uint64
	LastError                   string `json:",omitempty"`
}

// Event is one event of the node, as a Recorder saw it.
type Event struct {
	Time time.Time
	// Kind is the event's kind (cluster.EventKind's String), Remote the
	// address it is about, if any, and Text the whole event in one line.
	Kind, Remote, Text string
	// Error says that the event reports a failure.
	Error bool
}

// Limits on what remotes supply, so that a page's size is bounded.
const (
	maxText    = 256 // bytes of an error or an event
	maxTagText = 64  // bytes of a tag's key or value
	maxTags    = 16  // tags of one node
)

// snapshot takes the status of n.
func (h *handler) snapshot() Status {
	n := h.node
	now := time.Now()
	s := Status{
		Time: now,
		Node: Node{
			Address:           n.Self().String(),
			Listen:            n.String(),
			Name:              clip(n.Name(), cluster.MaxNameLen),
			Label:             clip(n.Label(), cluster.MaxNameLen),
			Tags:              clipTags(n.Tags()),
			HealthyInterval:   n.HealthyInterval(),
			NetworkTimeout:    n.NetworkTimeout(),
			ReconnectInterval: n.ReconnectInterval(),
		},
		Stats:     n.Stats(),
		Recording: h.rec != nil,
	}
	recent := now.Add(-(s.Node.HealthyInterval + s.Node.NetworkTimeout))
	for _, rs := range n.AllRemoteStats() {
		if len(s.Remotes)+len(s.Reconnecting) == h.maxRemotes {
			s.Omitted++
			continue
		}
		r := Remote{
			Address:          rs.Remote.String(),
			ConnectedSince:   rs.ConnectedSince,
			Dialled:          rs.Dialled,
			RTT:              rs.RTT,
			SmoothedRTT:      rs.SmoothedRTT,
			MessagesSent:     rs.MessagesSent,
			BytesSent:        rs.BytesSent,
			MessagesReceived: rs.MessagesReceived,
			BytesReceived:    rs.BytesReceived,
			QueuedMessages:   rs.QueuedMessages,
			QueuedBytes:      rs.QueuedBytes,
			MessagesDropped:  rs.MessagesDropped,
			Reconnects:       rs.Reconnects,
		}
		if rs.LastError != nil {
			r.LastError = clip(rs.LastError.Error(), maxText)
		}
		var t trace
		if h.rec != nil {
			t = h.rec.traceOf(r.Address)
		}
		r.SendWaits = t.sendWaits
		if !rs.Connected {
			r.State, r.Health = "reconnecting", "lost"
			s.Reconnecting = append(s.Reconnecting, r)
			continue
		}
		r.State = "connected"
		if info, ok := n.Info(rs.Remote); ok {
			r.Name, r.Tags = clip(info.Name, cluster.MaxNameLen), clipTags(info.Tags)
		}
		r.Health = health(rs, t, s.Node.NetworkTimeout, recent)
		s.Remotes = append(s.Remotes, r)
	}
	if h.rec != nil {
		s.Events = h.rec.events()
	}
	return s
}

// health sums up the link to a connected remote (see Remote.Health).
func health(rs cluster.RemoteStats, t trace, bound time.Duration, recent time.Time) string {
	rtt := rs.SmoothedRTT
	switch {
	case rtt == 0:
		return "unknown"
	case rtt >= bound/2:
		return "bad"
	case rtt >= bound/4 || t.errAt.After(recent) || t.waitAt.After(recent):
		return "slow"
	}
	return "good"
}

// clip returns s cut to at most max bytes, at a rune boundary, with an
// ellipsis if it was cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// clipTags returns at most maxTags of tags, the first by key, each key and
// value clipped.
func clipTags(tags map[string]string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(tags))
	out := make(map[string]string, min(len(keys), maxTags))
	for _, k := range keys[:min(len(keys), maxTags)] {
		out[clip(k, maxTagText)] = clip(tags[k], maxTagText)
	}
	return out
}
