//go:build !simsabotage

package cluster

// sabotageDrop reports whether Send should drop the message it accepts: never,
// but under the build tag simsabotage (see sabotage.go).
func sabotageDrop() bool { return false }
