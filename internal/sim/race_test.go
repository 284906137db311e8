//go:build race

package sim_test

// defaultSeeds is how many seeds TestSim runs by default: one under the race
// detector, which slows a run about tenfold; .ci/run sweeps hundreds without
// it.
const defaultSeeds = 1
