package promcluster_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/metrics/promcluster"
	"github.com/peerweave/peerweave/transport/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scrape gets url and returns every sample, by name and labels as the text
// format writes them: name{k="v",...}, labels sorted.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	samples := make(map[string]float64)
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				samples[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				samples[key] = m.GetGauge().GetValue()
			}
		}
	}
	return samples
}

// After a known sequence (two nodes join a, one sends n messages, the other
// leaves), a scrape over HTTP gives exactly what happened.
func TestScrapeAfterAKnownSequence(t *testing.T) {
	network := mem.NewNetwork()
	start := func(addr string) *cluster.Node {
		n, err := cluster.NewNode(addr, cluster.WithTransport(network))
		require.NoError(t, err)
		t.Cleanup(n.Close)
		return n
	}
	a, b, c := start("10.0.0.1:7946"), start("10.0.0.2:7946"), start("10.0.0.3:7946")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(promcluster.New(a, promcluster.WithRemoteLabels()))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range []*cluster.Node{b, c} {
		require.NoError(t, n.Add(a.String()))
		require.NoError(t, n.WaitMesh(ctx))
	}
	const n, size = 5, 10
	for range n {
		require.NoError(t, b.Send(cluster.Remote(*a.Addr()), make([]byte, size)))
	}
	for range n {
		<-a.Inbox
	}
	c.Close()
	// a counts c's removal as it tells of it, just after c is gone.
	require.Eventually(t, func() bool { return a.Stats().Removals.RemoteLeave == 1 }, time.Minute, time.Millisecond)

	got := scrape(t, srv.URL)
	for name, want := range map[string]float64{
		"peerweave_remotes":                                                1,
		"peerweave_reconnecting_remotes":                                   0,
		"peerweave_inbox_messages":                                         0,
		"peerweave_received_messages_total":                                n,
		"peerweave_received_bytes_total":                                   n * size,
		"peerweave_sent_messages_total":                                    0,
		"peerweave_dropped_messages_total":                                 0,
		"peerweave_reconnects_total":                                       0,
		`peerweave_handshakes_total{outcome="admitted"}`:                   2,
		`peerweave_handshakes_total{outcome="rejected"}`:                   0,
		`peerweave_removals_total{cause="remote_leave"}`:                   1,
		`peerweave_removals_total{cause="silence"}`:                        0,
		`peerweave_remote_connected{remote="10.0.0.2:7946"}`:               1,
		`peerweave_remote_received_messages_total{remote="10.0.0.2:7946"}`: n,
		`peerweave_remote_received_bytes_total{remote="10.0.0.2:7946"}`:    n * size,
		`peerweave_remote_sent_messages_total{remote="10.0.0.2:7946"}`:     0,
		`peerweave_remote_reconnects_total{remote="10.0.0.2:7946"}`:        0,
	} {
		v, ok := got[name]
		if assert.True(t, ok, "no sample %s", name) {
			assert.Equal(t, want, v, name)
		}
	}
	since := got[`peerweave_remote_connected_timestamp_seconds{remote="10.0.0.2:7946"}`]
	assert.InDelta(t, float64(time.Now().Unix()), since, 60, "b connected within the last minute")
	for name := range got {
		assert.NotContains(t, name, "10.0.0.3:7946", "c left: it has no series")
	}
}

// Without WithRemoteLabels no series is per remote, and every metric keeps
// to Prometheus's naming conventions.
func TestMetricsFollowTheConventions(t *testing.T) {
	network := mem.NewNetwork()
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network))
	require.NoError(t, err)
	defer a.Close()
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network))
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Add(a.String()))

	problems, err := testutil.CollectAndLint(promcluster.New(a, promcluster.WithRemoteLabels()))
	require.NoError(t, err)
	assert.Empty(t, problems)
	plain := promcluster.New(a)
	assert.Equal(t, 11+8+7, testutil.CollectAndCount(plain), "a series for each metric, and for each outcome and cause")
	out, err := testutil.CollectAndFormat(plain, expfmt.TypeTextPlain)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "remote=")
}
