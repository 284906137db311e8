package status_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// trio is a live three-node cluster on an in-memory network, whose first
// node, a, has a Recorder and a page.
type trio struct {
	h       *clustertest.Harness
	a, b, c *cluster.Node
	rec     *status.Recorder
	page    http.Handler
	// removed hears of a's removals once rec has.
	removed chan netip.AddrPort
}

// newTrio starts a, b and c, named alpha, bravo and charlie unless names
// says otherwise, joins them and waits until a has timed a health check of
// each of its remotes.
func newTrio(t *testing.T, names ...string) *trio {
	t.Helper()
	names = append(names, []string{"alpha", "bravo", "charlie"}[len(names):]...)
	h := clustertest.NewHarness(t, clustertest.MemTransports())
	h.Listen = func(i int) string {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 7946).String()
	}
	rec := status.NewRecorder(0)
	pongs := make(chan netip.AddrPort, 64)
	tr := &trio{h: h, rec: rec, removed: make(chan netip.AddrPort, 16)}
	tr.a = h.Node(cluster.WithName(names[0]), cluster.WithLabel("test"),
		cluster.WithTags(map[string]string{"role": "seed", "zone": "eu-1"}),
		cluster.WithObserver(rec),
		cluster.WithObserver(cluster.ObserverFunc(func(e cluster.Event) {
			ch := map[cluster.EventKind]chan netip.AddrPort{cluster.EventPong: pongs, cluster.EventRemoved: tr.removed}[e.Kind]
			select {
			case ch <- e.Addr:
			default:
			}
		})))
	tr.b = h.Node(cluster.WithName(names[1]), cluster.WithLabel("test"), cluster.WithTags(map[string]string{"role": "cache"}))
	tr.c = h.Node(cluster.WithName(names[2]), cluster.WithLabel("test"), cluster.WithTags(map[string]string{"role": "worker"}))
	clustertest.Mesh(t, tr.a, tr.b, tr.c)
	timed := map[netip.AddrPort]bool{}
	deadline := time.After(clustertest.WaitFor)
	for len(timed) < 2 {
		select {
		case k := <-pongs:
			timed[k] = true
		case <-deadline:
			t.Fatalf("a timed the health checks of %v only", timed)
		}
	}
	tr.page = status.Handler(tr.a, status.WithRecorder(rec))
	return tr
}

// get serves a request for target from page and returns the response.
func get(t *testing.T, page http.Handler, method, target string) *http.Response {
	t.Helper()
	w := httptest.NewRecorder()
	page.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w.Result()
}

// getJSON serves the JSON of page and decodes it.
func getJSON(t *testing.T, page http.Handler) status.Status {
	t.Helper()
	resp := get(t, page, http.MethodGet, "/debug/peerweave/?format=json")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var s status.Status
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}
