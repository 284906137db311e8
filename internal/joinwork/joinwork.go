// Package joinwork lets the benchmark program and tests read what joining a
// mesh cost a node, without widening the cluster package's API: package
// cluster sets Of.
package joinwork

// Work is what forming its mesh cost one node, counted from its start.
type Work struct {
	// Dials is how many connections the node dialled.
	Dials int64
	// TieLosses is how many of those it dropped because a connection the
	// other way won: the two nodes had dialled each other at once.
	TieLosses int64
	// EntriesSent is how many addresses it sent in peer lists.
	EntriesSent int64
}

// Of returns the work of node, a *cluster.Node. Package cluster sets it when
// it is initialised.
var Of func(node any) Work
