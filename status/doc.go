// Package status serves a node's status over HTTP, as net/http/pprof serves
// a program's profiles: a page for people that shows at a glance which
// remotes a node has, how healthy each link is and what just happened, and
// the same data as JSON for tools.
//
// Handler serves one node. Mount it on an admin mux, under any prefix; a
// Recorder, given to the node as an observer and to the page, adds the
// node's recent events:
//
//	rec := status.NewRecorder(0)
//	n, err := cluster.NewNode(addr, cluster.WithObserver(rec))
//	...
//	mux.Handle("/debug/peerweave/", status.Handler(n, status.WithRecorder(rec)))
//
// The page shows the node's identity (address, name, cluster label, tags)
// and settings; its totals (cluster.Stats); each remote with its name and
// tags, state, when it connected, its round trip, messages and bytes each
// way, what is queued for it, how often a Send waited for room in its queue
// and its last error; the reconnect set, the remotes lost ungracefully that
// the node redials; the recent events; and an SVG picture of the node's view
// of the mesh, the node and its remotes, each link coloured by its health:
// its round trip against the node's network timeout, and recent errors and
// full queues (see Remote.Health). The same URL with ?format=json serves
// Status as JSON.
//
// The page is safe to serve to operators of a cluster whose peers they do
// not trust: it only reads the node (GET and HEAD; other methods get 405);
// names, tags and errors, which remotes supply, are escaped by html/template
// and clipped, and lists are bounded (WithMaxRemotes, NewRecorder's size),
// so a page's size is bounded; it holds no script and fetches nothing, and
// its Content-Security-Policy says so to the browser. It does not
// authenticate anyone: mount it where only operators reach it, as with
// net/http/pprof.
//
// It uses only the public API of package cluster, and costs the node what
// Node.Stats, Node.AllRemoteStats and Node.Info cost, once per request; the
// page itself, about a millisecond of CPU for a node of 16 remotes and a full
// Recorder, is built on the request's goroutine. A process of several nodes
// mounts a Handler for each under a prefix of its own.
package status
