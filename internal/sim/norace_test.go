//go:build !race

package sim_test

// defaultSeeds is how many seeds TestSim runs by default; .ci/run sweeps
// hundreds.
const defaultSeeds = 3
