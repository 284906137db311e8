package cluster_test

import (
	"testing"
	"testing/synctest"
	"time"
)

// forEachCodecInABubble runs f as a parallel subtest for every codec, each
// inside a testing/synctest bubble with a harness over a fault network over
// transport/mem, all made inside the bubble: for the tests that are about
// time (silence, slow links, timeouts). Every wait of the node and of both
// transports is durable, so the bubble's clock jumps to the next timer once
// every goroutine waits, and durations come out exact however loaded the
// machine is. The nodes close as f's test ends, inside the bubble; then the
// fault network heals and its links deliver what they still hold, in a
// minute of virtual time, so that every goroutine of the bubble ends.
func forEachCodecInABubble(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Parallel()
	for _, s := range stacks {
		if s.name != "mem+"+s.codec.Name() {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				// Cleanups run last registered first: this one after
				// the nodes closed and the harness healed its network.
				t.Cleanup(func() { time.Sleep(time.Minute) })
				f(t, newHarness(t, s))
			})
		})
	}
}
