package status

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/peerweave/peerweave/cluster"
)

// DefaultMaxRemotes is how many remotes a page lists by default.
const DefaultMaxRemotes = 256

// An Option configures a Handler.
type Option func(*handler)

// WithRecorder gives the page the events and the per-remote counts of r,
// which must observe the same node (cluster.WithObserver). Without one the
// page has no recent events, and no send waits or recent errors in its
// measure of health.
func WithRecorder(r *Recorder) Option { return func(h *handler) { h.rec = r } }

// WithMaxRemotes sets how many remotes, connected and redialled together,
// a page lists and draws at most (default DefaultMaxRemotes); the rest are
// counted in Status.Omitted. Values below 1 keep the default.
func WithMaxRemotes(k int) Option {
	return func(h *handler) {
		if k > 0 {
			h.maxRemotes = k
		}
	}
}

// Handler returns an http.Handler that serves the status of node n: an HTML
// page for people, or with ?format=json the same data as JSON (see
// Status). It answers GET and HEAD, and 405 to other methods; it changes
// nothing in the node, so it is safe to mount on an admin mux, under any
// prefix:
//
//	mux.Handle("/debug/peerweave/", status.Handler(n, status.WithRecorder(rec)))
func Handler(n *cluster.Node, opts ...Option) http.Handler {
	h := &handler{node: n, maxRemotes: DefaultMaxRemotes}
	for _, o := range opts {
		o(h)
	}
	return h
}

type handler struct {
	node       *cluster.Node
	rec        *Recorder
	maxRemotes int
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "status: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s := h.snapshot()
	var body bytes.Buffer
	var err error
	hdr := w.Header()
	if r.URL.Query().Get("format") == "json" {
		hdr.Set("Content-Type", "application/json")
		enc := json.NewEncoder(&body)
		enc.SetIndent("", "  ")
		err = enc.Encode(s)
	} else {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		// The page is whole in itself: no script, nothing fetched.
		hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		err = render(&body, s)
	}
	if err != nil {
		slog.Error("status: rendering the page", "node", h.node.String(), "err", err)
		http.Error(w, "status: internal error", http.StatusInternalServerError)
		return
	}
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.Write(body.Bytes())
}
