package codectest

import (
	"runtime"
	"runtime/metrics"
)

// The allocation bound: Decode may allocate allocBase bytes, AllowAlloc
// unless changed, plus perFrameByte bytes for each byte of the frame. A
// decoder may so build what a frame holds (a string header for each byte,
// copies, a buffer for the frame) but not what a frame merely claims: a
// 5-byte frame that announces 2^31 strings gets the base, about 1/64 of the
// node's default 16 MiB frame limit.
const (
	defaultAllocBase = 256 << 10
	perFrameByte     = 32
)

// bound returns how many bytes a Decode of an n-byte frame may allocate.
func (s *suite) bound(n int) uint64 { return s.allocBase + perFrameByte*uint64(n) }

// allocated returns the bytes allocated on the heap so far. The cheap
// reading lags behind by what the per-P caches have handed out since they
// last refilled; the precise one flushes them, stopping the world to do so.
func allocated(precise bool) uint64 {
	if precise {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.TotalAlloc
	}
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
