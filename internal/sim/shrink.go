package sim

import "slices"

// Shrink looks for a smaller schedule that still fails: it drops faults one
// at a time, from the last, keeping each drop after which fails still
// reports a failure, and stops after budget runs. A fault that a later one
// needs (a joiner's slot) simply does nothing once dropped, so every
// subset of the faults is a valid schedule.
func Shrink(s Schedule, budget int, fails func(Schedule) bool) Schedule {
	for i := len(s.Faults) - 1; i >= 0 && budget > 0; i-- {
		try := s
		try.Faults = slices.Delete(slices.Clone(s.Faults), i, i+1)
		budget--
		if fails(try) {
			s = try
		}
	}
	return s
}
