package sim

import (
	"bytes"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing/synctest"
)

// Every goroutine of a run carries the pprof label runLabel with the run's
// number, from the run's goroutine down to each node's, so that after the
// last Close the run can tell whether any of its own still runs, whatever
// other runs share the process.
const runLabel = "sim.run"

var runs atomic.Uint64

// leaked waits until every other goroutine of the bubble is blocked or gone
// and returns how many goroutines of the run labelled label remain, the
// caller aside, with their stacks (the first few). It must be called from
// the bubble's root goroutine.
func leaked(label string) (int, string) {
	synctest.Wait()
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	want := fmt.Sprintf("%q:%q", runLabel, label)
	n, shown := 0, 0
	var stacks strings.Builder
	// The debug=1 profile is a header line, then goroutines grouped by
	// stack: "N @ pcs", "# labels: {...}", the frames, and a blank line.
	for _, rec := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(rec, "# labels: ") || !strings.Contains(rec, want) {
			continue
		}
		rec = rec[strings.LastIndex(rec[:strings.Index(rec, " @ ")], "\n")+1:] // the header, if first
		var count int
		fmt.Sscanf(rec, "%d @", &count)
		n += count
		if shown < 3 {
			shown++
			stacks.WriteString(rec)
			stacks.WriteString("\n")
		}
	}
	return n, stacks.String()
}
