//go:build unix

package bench

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time, user and system, that the process has used
// so far, or 0 where the system does not say. Unlike the wall clock, it
// barely moves when other processes load the machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
