package promcluster_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/metrics/promcluster"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./metrics/promcluster that no other test checked when they
// were written.

// gather collects c through a pedantic registry and returns its families
// by name.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf
	}
	return got
}

// labelValues returns the values of label in mf's series.
func labelValues(mf *dto.MetricFamily, label string) []string {
	var vs []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				vs = append(vs, l.GetValue())
			}
		}
	}
	return vs
}

// Every metric of the package documentation's tables is there, of the
// type it says; handshakes by each outcome and removals by each cause.
func TestAuditEveryDocumentedMetricHasItsType(t *testing.T) {
	network := mem.NewNetwork()
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network))
	require.NoError(t, err)
	t.Cleanup(a.Close)
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network))
	require.NoError(t, err)
	t.Cleanup(b.Close)
	require.NoError(t, b.Add(a.String()))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, a.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 1 }))

	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	want := map[string]dto.MetricType{
		"peerweave_remotes":                 gauge,
		"peerweave_reconnecting_remotes":    gauge,
		"peerweave_inbox_messages":          gauge,
		"peerweave_inbox_waiting_messages":  gauge,
		"peerweave_queued_bytes":            gauge,
		"peerweave_sent_messages_total":     counter,
		"peerweave_sent_bytes_total":        counter,
		"peerweave_received_messages_total": counter,
		"peerweave_received_bytes_total":    counter,
		"peerweave_dropped_messages_total":  counter,
		"peerweave_reconnects_total":        counter,
		"peerweave_handshakes_total":        counter,
		"peerweave_removals_total":          counter,
	}
	remote := map[string]dto.MetricType{
		"peerweave_remote_connected":                   gauge,
		"peerweave_remote_connected_timestamp_seconds": gauge,
		"peerweave_remote_queued_bytes":                gauge,
		"peerweave_remote_sent_messages_total":         counter,
		"peerweave_remote_sent_bytes_total":            counter,
		"peerweave_remote_received_messages_total":     counter,
		"peerweave_remote_received_bytes_total":        counter,
		"peerweave_remote_dropped_messages_total":      counter,
		"peerweave_remote_reconnects_total":            counter,
	}
	plain := gather(t, promcluster.New(a))
	for name, typ := range want {
		if assert.Contains(t, plain, name) {
			assert.Equal(t, typ, plain[name].GetType(), name)
		}
	}
	for name := range remote {
		assert.NotContains(t, plain, name, "without WithRemoteLabels")
	}
	assert.ElementsMatch(t, []string{"admitted", "incompatible", "auth", "rejected", "protocol", "timeout", "lost", "other"},
		labelValues(plain["peerweave_handshakes_total"], "outcome"))
	assert.ElementsMatch(t, []string{"silence", "write_stalled", "connection_lost", "protocol", "local_leave", "remote_leave", "replaced"},
		labelValues(plain["peerweave_removals_total"], "cause"))

	labelled := gather(t, promcluster.New(a, promcluster.WithRemoteLabels()))
	for name, typ := range remote {
		if assert.Contains(t, labelled, name) {
			assert.Equal(t, typ, labelled[name].GetType(), name)
			assert.Equal(t, []string{b.String()}, labelValues(labelled[name], "remote"), name)
		}
	}
}

// A remote lost ungracefully and redialled has its series, with
// peerweave_remote_connected 0, and counts in peerweave_reconnecting_remotes.
func TestAuditARedialledRemoteIsNotConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		network, fn := mem.NewNetwork(), fault.NewNetwork()
		a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(fn.Wrap(network)))
		require.NoError(t, err)
		b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(fn.Wrap(network)))
		require.NoError(t, err)
		require.NoError(t, b.Add(a.String()))
		require.NoError(t, a.Wait(t.Context(), func(rs []cluster.Remote) bool { return len(rs) == 1 }))

		fn.Blackhole(a.String(), b.String())
		require.NoError(t, a.Wait(t.Context(), func(rs []cluster.Remote) bool { return len(rs) == 0 }))
		got := gather(t, promcluster.New(a, promcluster.WithRemoteLabels()))
		if assert.Contains(t, got, "peerweave_remote_connected") {
			ms := got["peerweave_remote_connected"].GetMetric()
			require.Len(t, ms, 1)
			assert.Zero(t, ms[0].GetGauge().GetValue())
			assert.Equal(t, []string{b.String()}, labelValues(got["peerweave_remote_connected"], "remote"))
		}
		assert.Equal(t, 1.0, got["peerweave_reconnecting_remotes"].GetMetric()[0].GetGauge().GetValue())
		assert.Zero(t, got["peerweave_remotes"].GetMetric()[0].GetGauge().GetValue())

		a.Close()
		b.Close()
		fn.Heal()
		time.Sleep(time.Minute)
	})
}
