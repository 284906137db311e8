package bench

import (
	"fmt"
	"math"
	"time"
)

// Warmup is how many payloads or round trips to run through a Stream or Echo
// before starting the clock: enough to grow every buffer on the way to its
// working size.
const Warmup = 256

// checkEvery is how many payloads For sends between looks at the clock.
const checkEvery = 64

// Count sends payload through s n times and drains s: the work of n
// operations, delivery included.
func Count(s Stream, payload []byte, n int) error {
	for range n {
		if err := s.Send(payload); err != nil {
			return err
		}
	}
	return s.Drain()
}

// Trips runs n round trips of payload through e.
func Trips(e Echo, payload []byte, n int) error {
	for range n {
		if err := e.RoundTrip(payload); err != nil {
			return err
		}
	}
	return nil
}

// Rate is what a throughput run achieved.
type Rate struct {
	Msgs    int64
	Bytes   int64
	Elapsed time.Duration
	CPU     time.Duration // used by the whole process; 0 if unknown
}

// MsgsPerSec returns payloads delivered per second.
func (r Rate) MsgsPerSec() float64 { return float64(r.Msgs) / r.Elapsed.Seconds() }

// MBPerSec returns payload megabytes (10⁶ bytes, as go test counts them)
// delivered per second.
func (r Rate) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// CPUPerMsg returns the CPU time the process used per payload.
func (r Rate) CPUPerMsg() time.Duration { return r.CPU / time.Duration(max(r.Msgs, 1)) }

// Plus returns the rate of r and o run one after the other.
func (r Rate) Plus(o Rate) Rate {
	return Rate{Msgs: r.Msgs + o.Msgs, Bytes: r.Bytes + o.Bytes, Elapsed: r.Elapsed + o.Elapsed, CPU: r.CPU + o.CPU}
}

// For sends payload through s for d, drains it and returns the rate from the
// first Send to the end of the drain. Warm s up with Count first.
func For(s Stream, payload []byte, d time.Duration) (Rate, error) {
	var n int64
	cpu, start := CPUTime(), time.Now()
	for deadline := start.Add(d); time.Now().Before(deadline); {
		for range checkEvery {
			if err := s.Send(payload); err != nil {
				return Rate{}, err
			}
		}
		n += checkEvery
	}
	if err := s.Drain(); err != nil {
		return Rate{}, err
	}
	return Rate{Msgs: n, Bytes: n * int64(len(payload)), Elapsed: time.Since(start), CPU: CPUTime() - cpu}, nil
}

// Latencies runs round trips of payload through e for d and returns the
// duration of each. Warm e up with Trips first. A round trip that takes
// longer than StallTimeout aborts the run with ErrStalled.
func Latencies(e Echo, payload []byte, d time.Duration) ([]time.Duration, error) {
	abort := time.AfterFunc(d+StallTimeout, func() { e.Close() })
	samples, err := latencies(e, payload, d)
	if !abort.Stop() {
		return nil, fmt.Errorf("%w: a round trip did not complete", ErrStalled)
	}
	return samples, err
}

func latencies(e Echo, payload []byte, d time.Duration) ([]time.Duration, error) {
	var samples []time.Duration
	start := time.Now()
	for t := start; t.Sub(start) < d; {
		if err := e.RoundTrip(payload); err != nil {
			return nil, err
		}
		now := time.Now()
		samples = append(samples, now.Sub(t))
		t = now
	}
	return samples, nil
}

// Percentile returns the p-th percentile, 0 < p <= 100, of samples sorted in
// increasing order, by the nearest-rank method, or 0 if there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted)) * p / 100))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// SizeName names a payload size the way the benchmarks do: 64B, 1KiB, 64KiB.
func SizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
