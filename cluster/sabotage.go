//go:build simsabotage

package cluster

import "sync/atomic"

// Built with the tag simsabotage, the node breaks one of its promises on
// purpose: Send accepts one message in a hundred and drops it. The sweep of
// internal/sim must catch it (.ci/run requires that it fails), which shows
// that the simulator's delivery check can fail at all.

var sabotaged atomic.Uint64

// sabotageDrop reports whether Send should drop the message it accepts.
func sabotageDrop() bool { return sabotaged.Add(1)%100 == 0 }
