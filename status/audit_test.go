package status_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/status"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./status that no other test checked when they were written.

// auditNode is a node on an in-memory network, closed when the test ends.
func auditNode(t *testing.T) *cluster.Node {
	t.Helper()
	n, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(mem.NewNetwork()))
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// serveJSON gets the JSON status of h and decodes it into v.
func serveJSON(t *testing.T, h http.Handler, v any) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/debug/peerweave/?format=json", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), v))
}

// observe gives r k events, each about a remote of its own, the last of
// them an error.
func observe(r *status.Recorder, k int) {
	for i := range k {
		e := cluster.Event{Kind: cluster.EventDial, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 7946)}
		if i == k-1 {
			e.Err = errors.New("audit: refused")
		}
		r.Observe(e)
	}
}

// NewRecorder keeps the last size events, or DefaultEvents if size is not
// positive; the page serves them newest first, and says which carry an
// error.
func TestAuditRecorderKeepsItsSizeOfEventsNewestFirst(t *testing.T) {
	n := auditNode(t)
	for size, want := range map[int]int{0: status.DefaultEvents, -1: status.DefaultEvents, 5: 5} {
		rec := status.NewRecorder(size)
		observe(rec, status.DefaultEvents+10)
		var s status.Status
		serveJSON(t, status.Handler(n, status.WithRecorder(rec)), &s)
		assert.True(t, s.Recording)
		require.Len(t, s.Events, want, "NewRecorder(%d)", size)
		last := status.DefaultEvents + 9
		assert.Equal(t, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(last >> 8), byte(last)}), 7946).String(), s.Events[0].Remote, "newest first")
		assert.True(t, s.Events[0].Error, "the newest carries an error")
		assert.False(t, s.Events[1].Error)
		assert.Equal(t, cluster.EventDial.String(), s.Events[0].Kind)
	}
}

// Health checks (EventPong) are not kept as events.
func TestAuditRecorderKeepsNoHealthChecks(t *testing.T) {
	n := auditNode(t)
	rec := status.NewRecorder(0)
	rec.Observe(cluster.Event{Kind: cluster.EventPong, Addr: netip.MustParseAddrPort("10.0.0.2:7946"), RTT: time.Millisecond})
	var s status.Status
	serveJSON(t, status.Handler(n, status.WithRecorder(rec)), &s)
	assert.Empty(t, s.Events)
}

// The JSON has the fields of Status named as in Go, durations in
// nanoseconds and times in RFC 3339.
func TestAuditJSONHasDurationsInNanosecondsAndTimesInRFC3339(t *testing.T) {
	n := auditNode(t)
	var raw struct {
		Time string
		Node map[string]any
	}
	serveJSON(t, status.Handler(n), &raw)
	_, err := time.Parse(time.RFC3339Nano, raw.Time)
	assert.NoError(t, err, "Time %q", raw.Time)
	for field, want := range map[string]time.Duration{
		"HealthyInterval":   n.HealthyInterval(),
		"NetworkTimeout":    n.NetworkTimeout(),
		"ReconnectInterval": n.ReconnectInterval(),
	} {
		assert.EqualValues(t, want.Nanoseconds(), raw.Node[field], field)
	}
	assert.Equal(t, n.String(), raw.Node["Address"])
}

// WithMaxRemotes below 1 keeps the default, and a page without a recorder
// says so and has no events.
func TestAuditMaxRemotesBelowOneKeepsTheDefault(t *testing.T) {
	nw := mem.NewNetwork()
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(nw))
	require.NoError(t, err)
	t.Cleanup(a.Close)
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(nw))
	require.NoError(t, err)
	t.Cleanup(b.Close)
	require.NoError(t, b.Add(a.String()))
	for _, k := range []int{0, -1} {
		var s status.Status
		serveJSON(t, status.Handler(b, status.WithMaxRemotes(k)), &s)
		assert.Len(t, s.Remotes, 1, "WithMaxRemotes(%d)", k)
		assert.Zero(t, s.Omitted, "WithMaxRemotes(%d)", k)
		assert.False(t, s.Recording)
		assert.Empty(t, s.Events)
	}
}

// Handler serves under any prefix of a mux, the page and its JSON.
func TestAuditHandlerServesUnderAnyPrefix(t *testing.T) {
	n := auditNode(t)
	mux := http.NewServeMux()
	mux.Handle("/ops/cluster/status/", status.Handler(n))
	for _, target := range []string{"/ops/cluster/status/", "/ops/cluster/status/?format=json"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		assert.Equal(t, http.StatusOK, w.Code, target)
		assert.Contains(t, w.Body.String(), n.String(), target)
	}
}
