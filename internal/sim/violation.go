package sim

import (
	"fmt"
	"time"
)

// Violation is one promise of the node seen broken: when (virtual time since
// the run began), at which node, about which pair of nodes, and what.
type Violation struct {
	At   time.Duration
	Node string
	Pair string
	What string
}

func (v Violation) String() string {
	return fmt.Sprintf("at %v: node %s, pair %s: %s", v.At, v.Node, v.Pair, v.What)
}

// Result is what a run found.
type Result struct {
	// Violations are the broken promises, in the order they were seen.
	Violations []Violation
	// Virtual is how much virtual time the run took.
	Virtual time.Duration
	// Counts of what the run did, to tell a run that checked much from one
	// that checked little.
	Nodes        int // nodes started, restarts and joiners included
	Accepted     int // messages Send accepted
	Received     int // messages read from an Inbox
	Checked      int // accepted messages that had to arrive, and did
	CheckedLeave int // of them, those sent before a graceful leave
	Requests     int // requests, and queries' answers, that ended
	Removals     int // remotes removed ungracefully
	Leaves       int // graceful goodbyes heard
}

func (r Result) String() string {
	return fmt.Sprintf("%v virtual, %d nodes, %d accepted, %d received, %d checked (%d before a leave), %d request outcomes, %d ungraceful removals, %d goodbyes",
		r.Virtual, r.Nodes, r.Accepted, r.Received, r.Checked, r.CheckedLeave, r.Requests, r.Removals, r.Leaves)
}

// fail records a violation at the current virtual time. w.mu must be held.
func (w *world) failLocked(node, pair, format string, args ...any) {
	if len(w.violations) >= maxViolations {
		return
	}
	w.violations = append(w.violations, Violation{At: w.now(), Node: node, Pair: pair, What: fmt.Sprintf(format, args...)})
}

func (w *world) fail(node, pair, format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failLocked(node, pair, format, args...)
}

// maxViolations bounds what a run keeps: a broken promise tends to break
// again and again, and the first few say what it is.
const maxViolations = 20
