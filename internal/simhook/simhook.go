// Package simhook lets the simulator of internal/sim seed the random choices
// of a node of package cluster, without an option in cluster's public API.
// Package cluster fills in Seeded when it initialises.
package simhook

// Rand is a source of random choices for one node: which remote it gossips
// to, its dial-race nonce. Its methods are called from several goroutines of
// the node, so it must be safe for concurrent use.
type Rand interface {
	IntN(n int) int
	Read(b []byte)
}

// Seeded returns a cluster.Option, as an any since this package cannot name
// the type, that makes a node draw its random choices from r.
var Seeded func(r Rand) any
