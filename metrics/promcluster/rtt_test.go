package promcluster_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/metrics/promcluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// A remote's round-trip metrics appear only once it has answered a health
// check: before, there is no sample, rather than a round trip of zero.
func TestRemoteRTTAppearsAfterTheFirstHealthCheck(t *testing.T) {
	network := mem.NewNetwork()
	start := func(addr string, healthy time.Duration) *cluster.Node {
		n, err := cluster.NewNode(addr, cluster.WithTransport(network), cluster.WithHealthyInterval(healthy))
		require.NoError(t, err)
		t.Cleanup(n.Close)
		return n
	}
	// a checks nobody's health within the test; c checks b's at once.
	a, b := start("10.0.0.1:7946", time.Hour), start("10.0.0.2:7946", time.Hour)
	c := start("10.0.0.3:7946", 10*time.Millisecond)
	require.NoError(t, b.Add(a.String()))
	require.NoError(t, c.Add(b.String()))
	count := func(n *cluster.Node) int {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(promcluster.New(n, promcluster.WithRemoteLabels()))
		got, err := testutil.GatherAndCount(reg, "peerweave_remote_rtt_seconds", "peerweave_remote_smoothed_rtt_seconds")
		require.NoError(t, err)
		return got
	}
	assert.Zero(t, count(a), "a has checked no remote's health")
	rs, ok := a.RemoteStats(cluster.Remote(*b.Addr()))
	require.True(t, ok)
	assert.Zero(t, rs.RTT, "and RemoteStats says so with a zero RTT")
	require.Eventually(t, func() bool {
		rs, ok := c.RemoteStats(cluster.Remote(*b.Addr()))
		return ok && rs.RTT > 0
	}, time.Minute, time.Millisecond, "c checks b's health")
	assert.GreaterOrEqual(t, count(c), 2, "c's metrics have b's round trips")
}
