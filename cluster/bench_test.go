package cluster_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/internal/bench"
)

// The benchmarks measure the cost of a message on every stack of the
// behaviour suite, next to raw TCP loops that do the same work with nothing
// in between, at each of benchSizes:
//
//	go test -run='^$' -bench=. ./cluster
//	go test -run='^$' -bench='OneWay/1KiB/tcp\+gob' -cpuprofile cpu.out -memprofile mem.out ./cluster
//
// B/op, allocs/op and cpu-ns/op count every goroutine of the process:
// sender, writer, reader and receiver together. cpu-ns/op, the CPU time the
// process used per operation, suffers less than ns/op from other processes
// on a shared machine.
var benchSizes = []int{64, 1 << 10, 64 << 10}

// BenchmarkOneWay measures one-way throughput: Send on one node, the other's
// Inbox read and counted, the clock stopped once every payload has arrived.
// raw-tcp-buffered writes the same frames to a plain TCP connection through
// a bufio.Writer that flushes only when it runs out of work, and reads them
// through a bufio.Reader; raw-tcp-flush-each flushes every frame;
// raw-quic-buffered writes them as raw-tcp-buffered does to one stream of a
// plain quic-go connection, the floor of the quic stacks.
func BenchmarkOneWay(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(bench.SizeName(size), func(b *testing.B) {
			for _, s := range stacks {
				b.Run(s.name, func(b *testing.B) {
					benchStream(b, size, func() (bench.Stream, error) { return bench.NodeStream(s.network(), s.codec) })
				})
			}
			b.Run("raw-tcp-buffered", func(b *testing.B) {
				benchStream(b, size, func() (bench.Stream, error) { return bench.RawStream(false) })
			})
			b.Run("raw-tcp-flush-each", func(b *testing.B) {
				benchStream(b, size, func() (bench.Stream, error) { return bench.RawStream(true) })
			})
			b.Run("raw-quic-buffered", func(b *testing.B) { benchStream(b, size, bench.RawQUICStream) })
		})
	}
}

// BenchmarkRoundTrip measures latency: Send on one node, the other reads its
// Inbox and Sends the payload back, the first reads it from its Inbox.
// raw-tcp is a ping-pong of the same frames over a plain TCP connection. It
// reports the median and 99th percentile besides the mean (ns/op); MB/s
// counts the payload both ways.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(bench.SizeName(size), func(b *testing.B) {
			for _, s := range stacks {
				b.Run(s.name, func(b *testing.B) {
					benchEcho(b, size, func() (bench.Echo, error) { return bench.NodeEcho(s.network(), s.codec) })
				})
			}
			b.Run("raw-tcp", func(b *testing.B) { benchEcho(b, size, bench.RawEcho) })
		})
	}
}

func benchStream(b *testing.B, size int, open func() (bench.Stream, error)) {
	defer goleak.VerifyNone(b, goleak.IgnoreCurrent())
	s, err := open()
	require.NoError(b, err)
	defer s.Close()
	payload := make([]byte, size)
	require.NoError(b, bench.Count(s, payload, bench.Warmup), "warm-up")

	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := bench.CPUTime()
	err = bench.Count(s, payload, b.N)
	cpu = bench.CPUTime() - cpu
	b.StopTimer()
	require.NoError(b, err)
	reportCPU(b, cpu)
}

func benchEcho(b *testing.B, size int, open func() (bench.Echo, error)) {
	defer goleak.VerifyNone(b, goleak.IgnoreCurrent())
	e, err := open()
	require.NoError(b, err)
	defer e.Close()
	payload := make([]byte, size)
	require.NoError(b, bench.Trips(e, payload, bench.Warmup), "warm-up")
	samples := make([]time.Duration, b.N)

	b.SetBytes(int64(2 * size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := bench.CPUTime()
	for i := range samples {
		start := time.Now()
		if err := e.RoundTrip(payload); err != nil {
			b.Fatal(err)
		}
		samples[i] = time.Since(start)
	}
	cpu = bench.CPUTime() - cpu
	b.StopTimer()
	reportCPU(b, cpu)
	slices.Sort(samples)
	b.ReportMetric(float64(bench.Percentile(samples, 50)), "p50-ns")
	b.ReportMetric(float64(bench.Percentile(samples, 99)), "p99-ns")
}

// reportCPU reports the CPU time the process used per operation, a measure
// that other processes loading the machine disturb less than ns/op.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
}
