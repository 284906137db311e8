// Package discovery joins a node to the peers that a source of addresses
// names: a seed list, a DNS name (a Kubernetes headless service, Consul DNS),
// a file that ops tooling rewrites, or any mix of them.
//
//	src := discovery.DNS("peers.default.svc.cluster.local.", 7946, nil)
//	ctx, cancel := context.WithCancel(context.Background())
//	done := make(chan error, 1)
//	go func() { done <- discovery.Join(ctx, node, src) }() // until ctx ends or node closes
//	...
//	cancel()
//	<-done
//
// The sources are [Static] (a seed list), [DNS] (the A and AAAA records of a
// name, with a port: a Kubernetes headless service), [SRV] (hosts and ports
// from SRV records: Consul, a zone of your own), [File] (one host:port a
// line, # comments, re-read every round) and [Multi] (the union of
// several); [SourceFunc] makes your own. examples/discovery shows four
// nodes meeting through a peers file that the program rewrites.
//
// # Sources are polled
//
// A Source answers one question, "which addresses now?", through Addrs.
// There is no watch form: DNS has no push, a file is cheap to re-read, a
// static list never changes, and Join must come back on a timer anyway to
// retry an address it could not add (a peer that was not up yet). So a Source
// is a function call that is trivial to write and to test, and a change in
// the source is seen at the next round, at most one interval later.
//
// # What Join does
//
// Join asks the source at once and then every interval (DefaultInterval,
// [WithInterval]), and adds each address that is neither the node's own nor
// a known remote. It returns when its context ends or the node is closed.
// Addresses are compared in their ip:port form ("[::ffff:10.0.0.1]:7000" is
// "10.0.0.1:7000"); a name is passed to the node, which resolves it. Adds run
// a few at a time (DefaultConcurrency, [WithConcurrency]), each bounded by
// DefaultTimeout ([WithTimeout]).
//
// A source that fails is logged through log/slog and retried with
// exponential backoff and jitter (DefaultMinBackoff up to DefaultMaxBackoff,
// [WithBackoff]) until it answers again, with a warning when the error
// appears or changes and an info record when it recovers; the node keeps running with the remotes it has. A
// source may return addresses together with an error, such as a file with a
// malformed line or a Multi with one failing member: Join uses the addresses
// and logs the error.
//
// # What Join does not do
//
// Discovery only adds. A node that disappears from the source is not
// removed: if it is dead, the node's health checks remove it and the node
// redials it every reconnect interval, as for any remote lost ungracefully;
// if it is alive, it stays a member, because membership is the mesh, not the
// source. Conversely a node that is still listed is added again at
// the next round even after CloseRemote, since Add brings back a graceful
// leaver: take it out of the source first. Nodes found and lost show up
// through the node's RemoteAdded, RemoteRemoved and RemoteChanged callbacks.
//
// There is no multicast (mDNS) source: multicast seldom crosses the
// networks clusters run on (cloud VPCs, Kubernetes pod networks), and a
// SourceFunc over the library of your choice makes one where it does.
//
// The package depends on cluster, never the reverse: Join drives anything
// with the Node methods, which *cluster.Node has.
package discovery
