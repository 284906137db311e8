// Package sim runs whole clusters of real nodes of package cluster under
// virtual time, to find the rare interleavings that break a promise of the
// node.
//
// A run is one Schedule, generated from a seed: 5 to 50 nodes on an in-memory
// network (transport/mem) wrapped by transport/fault, at the default
// intervals (healthy 30s, network timeout 10s, reconnect 5m) unless the
// schedule says otherwise, and a list of faults: partitions, one-way cuts,
// black holes, slow links, crashes and restarts on the same or a new address
// and name, graceful leaves (Close and CloseRemote), new joiners, secret
// rotations and an application that stops reading its Inbox for a while.
// Every node runs a workload of Send, Broadcast, Request, Query and SetTags
// meanwhile. Run must be called inside a testing/synctest bubble, where the
// clock jumps ahead whenever every goroutine waits, so that an hour of the
// cluster's life takes a fraction of a second.
//
// Run checks the node's promises throughout and returns each one it saw
// broken as a Violation naming the node, the pair and the virtual time: what
// Send accepted between two nodes connected throughout arrives in order and
// once (across a break, at most once and in order); after the last fault
// heals, every live node knows every other within healthy interval + network
// timeout + reconnect interval; a node that heard a graceful goodbye never
// redials the leaver; no remote is removed for silence while its link had no
// fault and its node was alive; callbacks come in order and add up to
// Remotes; Request and Query end in time with an answer or a documented error.
// The bubble itself checks that every goroutine ends after Close.
//
// The simulated application joins through a live node, retries a join that
// fails every network timeout, and adds a live node again whenever its node
// has no remote left, as an application with a list of seeds would.
//
// The random choices of the nodes that matter (gossip targets, dial-race
// nonces) are seeded from the schedule through internal/simhook, so a seed
// reruns the same schedule; the interleaving of goroutines may still vary
// from run to run (rerun a failing seed a few times, and under -race).
// Shrink looks for the fewest faults that still fail.
//
// The test of this package sweeps seeds:
//
//	go test ./internal/sim -run TestSim -sim.seeds=500   # seeds 1 to 500 (-sim.first moves them)
//	go test ./internal/sim -run TestSim -sim.seed=1397   # one seed, as a failure prints it
//	go test ./internal/sim -sim.nodes=30 -sim.duration=30m
//	go test -tags simsabotage ./internal/sim             # must fail: the node drops 1 Send in 100
//
// Each failing seed prints its violations, its schedule, the schedule shrunk
// and the command that reruns it; -sim.v logs what the nodes do. The sweep
// ends with one line, "sim: N seeds, T simulated in R real (K× real time),
// F failed", which go test shows with -v or when run in the package's
// directory.
package sim
