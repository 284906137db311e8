//go:build race

package cluster_test

// raceOn says that the race detector runs, which makes a crowd of nodes in
// one process several times slower.
const raceOn = true
