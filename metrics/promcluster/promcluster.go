// Package promcluster exports the statistics of a peerweave node as
// Prometheus metrics, with github.com/prometheus/client_golang.
//
// A Collector reads the node's statistics (cluster.Node.Stats) when it is
// scraped, and only then: it costs the node nothing between scrapes, and
// nothing per message. Register one per node:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(promcluster.New(node))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Metrics are named after Prometheus's conventions: all in the peerweave_
// namespace, counters end in _total, sizes are in bytes and times in
// seconds. Without options every metric is of the node as a whole, so that
// their number does not grow with the cluster; WithRemoteLabels adds the
// peerweave_remote_ metrics, one series per remote labelled "remote" with
// its address. To export several nodes of one process into one registry,
// register each through prometheus.WrapRegistererWith with a label, such as
// "node", that tells them apart, as examples/metrics does (go run
// ./examples/metrics serves /metrics for a three-node cluster; with -serve
// addr, until interrupted). The core package does not import this one.
//
// Metrics of the node:
//
//	peerweave_remotes                         gauge    remotes connected
//	peerweave_reconnecting_remotes            gauge    remotes lost ungracefully and redialled
//	peerweave_inbox_messages                  gauge    messages waiting in Inbox
//	peerweave_inbox_waiting_messages          gauge    messages waiting in the node for room in Inbox
//	peerweave_queued_bytes                    gauge    bytes queued to write to remotes
//	peerweave_sent_messages_total             counter  messages written to remotes
//	peerweave_sent_bytes_total                counter  payload bytes written to remotes
//	peerweave_received_messages_total         counter  messages read from remotes
//	peerweave_received_bytes_total            counter  payload bytes read from remotes
//	peerweave_dropped_messages_total          counter  messages Send accepted that never went out
//	peerweave_reconnects_total                counter  redials of remotes lost ungracefully
//	peerweave_handshakes_total{outcome}       counter  handshakes by outcome: admitted, incompatible,
//	                                                   auth, rejected, protocol, timeout, lost, other
//	peerweave_removals_total{cause}           counter  removals by cause: silence, write_stalled,
//	                                                   connection_lost, protocol, local_leave,
//	                                                   remote_leave, replaced
//
// With WithRemoteLabels, of each remote, connected or redialled:
//
//	peerweave_remote_connected{remote}                  gauge    1 if connected, 0 if redialled
//	peerweave_remote_connected_timestamp_seconds{remote} gauge   when its connection was admitted
//	peerweave_remote_rtt_seconds{remote}                gauge    round trip of the last health check
//	peerweave_remote_smoothed_rtt_seconds{remote}       gauge    smoothed round trip (as TCP's SRTT)
//	peerweave_remote_queued_bytes{remote}               gauge    bytes queued to write to it
//	peerweave_remote_sent_messages_total{remote}        counter  on its connection
//	peerweave_remote_sent_bytes_total{remote}           counter  on its connection
//	peerweave_remote_received_messages_total{remote}    counter  on its connection
//	peerweave_remote_received_bytes_total{remote}       counter  on its connection
//	peerweave_remote_dropped_messages_total{remote}     counter  since it was first lost
//	peerweave_remote_reconnects_total{remote}           counter  since it was first lost
//
// A remote's two round-trip series appear only once it has answered a health
// check, which the node sends within a healthy interval of the connection:
// until then there is no sample, rather than a round trip of zero. Requests and replies count as
// messages, their payloads as bytes; control frames count as neither.
//
// The traffic counters of a remote are those of its connection, and start
// again from zero when it reconnects, which Prometheus's rate and increase
// take for a counter reset; the node's own never go down.
package promcluster

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerweave/peerweave/cluster"
)

// Collector is a prometheus.Collector of one node's statistics.
type Collector struct {
	n         *cluster.Node
	perRemote bool
}

// Option configures a Collector.
type Option func(*Collector)

// WithRemoteLabels adds the metrics of each remote, labelled with its
// address. Their number grows with the cluster: one series per remote for
// each metric.
func WithRemoteLabels() Option { return func(c *Collector) { c.perRemote = true } }

// New returns a Collector of n's statistics.
func New(n *cluster.Node, opts ...Option) *Collector {
	c := &Collector{n: n}
	for _, o := range opts {
		o(c)
	}
	return c
}

const namespace = "peerweave"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	remotesDesc      = desc("remotes", "Remotes the node is connected to.")
	reconnectingDesc = desc("reconnecting_remotes", "Remotes the node lost ungracefully and redials every reconnect interval.")
	inboxDesc        = desc("inbox_messages", "Messages waiting in the node's Inbox.")
	waitingDesc      = desc("inbox_waiting_messages", "Messages waiting in the node for room in its Inbox.")
	queuedDesc       = desc("queued_bytes", "Bytes of messages queued to write to remotes, frame headers included.")
	sentDesc         = desc("sent_messages_total", "Messages written to remotes.")
	sentBytesDesc    = desc("sent_bytes_total", "Payload bytes written to remotes.")
	recvDesc         = desc("received_messages_total", "Messages read from remotes.")
	recvBytesDesc    = desc("received_bytes_total", "Payload bytes read from remotes.")
	droppedDesc      = desc("dropped_messages_total", "Messages Send accepted that never went out: discarded when a connection broke or at a goodbye.")
	reconnectsDesc   = desc("reconnects_total", "Redials of remotes lost ungracefully.")
	handshakesDesc   = desc("handshakes_total", "Handshakes the node took part in, by outcome.", "outcome")
	removalsDesc     = desc("removals_total", "Removals of remotes, by cause.", "cause")

	remoteConnectedDesc = desc("remote_connected", "1 if the remote is connected, 0 if the node redials it.", "remote")
	remoteSinceDesc     = desc("remote_connected_timestamp_seconds", "When the remote's connection was admitted, in seconds since the Unix epoch.", "remote")
	remoteRTTDesc       = desc("remote_rtt_seconds", "Round trip of the last health check the remote answered.", "remote")
	remoteSRTTDesc      = desc("remote_smoothed_rtt_seconds", "Round trip of the remote's health checks, smoothed as TCP's SRTT.", "remote")
	remoteQueuedDesc    = desc("remote_queued_bytes", "Bytes of messages queued to write to the remote, frame headers included.", "remote")
	remoteSentDesc      = desc("remote_sent_messages_total", "Messages written to the remote on its connection.", "remote")
	remoteSentBytesDesc = desc("remote_sent_bytes_total", "Payload bytes written to the remote on its connection.", "remote")
	remoteRecvDesc      = desc("remote_received_messages_total", "Messages read from the remote on its connection.", "remote")
	remoteRecvBytesDesc = desc("remote_received_bytes_total", "Payload bytes read from the remote on its connection.", "remote")
	remoteDroppedDesc   = desc("remote_dropped_messages_total", "Messages to the remote discarded with its connections, since the node first lost it.", "remote")
	remoteReconnDesc    = desc("remote_reconnects_total", "Redials of the remote, since the node first lost it.", "remote")

	nodeDescs = []*prometheus.Desc{remotesDesc, reconnectingDesc, inboxDesc, waitingDesc, queuedDesc, sentDesc,
		sentBytesDesc, recvDesc, recvBytesDesc, droppedDesc, reconnectsDesc, handshakesDesc, removalsDesc}
	remoteDescs = []*prometheus.Desc{remoteConnectedDesc, remoteSinceDesc, remoteRTTDesc, remoteSRTTDesc, remoteQueuedDesc,
		remoteSentDesc, remoteSentBytesDesc, remoteRecvDesc, remoteRecvBytesDesc, remoteDroppedDesc, remoteReconnDesc}
)

// Describe sends the descriptions of every metric c may collect.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range nodeDescs {
		ch <- d
	}
	if c.perRemote {
		for _, d := range remoteDescs {
			ch <- d
		}
	}
}

// Collect reads the node's statistics and sends them as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.n.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(remotesDesc, float64(s.Remotes))
	gauge(reconnectingDesc, float64(s.Reconnecting))
	gauge(inboxDesc, float64(s.InboxDepth))
	gauge(waitingDesc, float64(s.InboxWaiting))
	gauge(queuedDesc, float64(s.QueuedBytes))
	counter(sentDesc, s.MessagesSent)
	counter(sentBytesDesc, s.BytesSent)
	counter(recvDesc, s.MessagesReceived)
	counter(recvBytesDesc, s.BytesReceived)
	counter(droppedDesc, s.MessagesDropped)
	counter(reconnectsDesc, s.Reconnects)
	h := s.Handshakes
	for outcome, v := range map[string]uint64{
		"admitted": h.Admitted, "incompatible": h.Incompatible, "auth": h.Auth, "rejected": h.Rejected,
		"protocol": h.Protocol, "timeout": h.Timeout, "lost": h.Lost, "other": h.Other,
	} {
		counter(handshakesDesc, v, outcome)
	}
	r := s.Removals
	for cause, v := range map[string]uint64{
		"silence": r.Silence, "write_stalled": r.WriteStalled, "connection_lost": r.ConnLost, "protocol": r.Protocol,
		"local_leave": r.LocalLeave, "remote_leave": r.RemoteLeave, "replaced": r.Replaced,
	} {
		counter(removalsDesc, v, cause)
	}
	if !c.perRemote {
		return
	}
	for _, rs := range c.n.AllRemoteStats() {
		remote := rs.Remote.String()
		connected := 0.0
		if rs.Connected {
			connected = 1
			gauge(remoteSinceDesc, float64(rs.ConnectedSince.UnixNano())/1e9, remote)
			if rs.RTT > 0 {
				gauge(remoteRTTDesc, rs.RTT.Seconds(), remote)
				gauge(remoteSRTTDesc, rs.SmoothedRTT.Seconds(), remote)
			}
		}
		gauge(remoteConnectedDesc, connected, remote)
		gauge(remoteQueuedDesc, float64(rs.QueuedBytes), remote)
		counter(remoteSentDesc, rs.MessagesSent, remote)
		counter(remoteSentBytesDesc, rs.BytesSent, remote)
		counter(remoteRecvDesc, rs.MessagesReceived, remote)
		counter(remoteRecvBytesDesc, rs.BytesReceived, remote)
		counter(remoteDroppedDesc, rs.MessagesDropped, remote)
		counter(remoteReconnDesc, rs.Reconnects, remote)
	}
}
