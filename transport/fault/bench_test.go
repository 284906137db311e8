package fault_test

import (
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/peerweave/peerweave/transport/fault"
)

// benchWorld returns a world for a benchmark over the inner transport
// named inner.
func benchWorld(b *testing.B, inner string) *world {
	for _, in := range inners {
		if in.name == inner {
			return &world{t: b, nw: fault.NewNetwork(), inner: in.new()}
		}
	}
	panic(inner)
}

// benchPair returns the ends of a connection over inner whose way from
// from to to has the link l: the dialler's writes if fromDialler, else
// its reads.
func benchPair(b *testing.B, inner string, fromDialler bool, l fault.Link) (from, to net.Conn) {
	w := benchWorld(b, inner)
	x, y := w.endpoint(), w.endpoint()
	d, acc := x.dial(y)
	if fromDialler {
		w.nw.Shape(x.name, y.name, l)
		return d, acc
	}
	w.nw.Shape(y.name, x.name, l)
	return acc, d
}

var ways = []struct {
	name        string
	fromDialler bool
}{{"out", true}, {"in", false}}

// BenchmarkShapedRate moves a second's worth of bytes over a shaped link
// per iteration, in 32 KiB writes, and reports the rate reached as a
// fraction of the link's.
func BenchmarkShapedRate(b *testing.B) {
	for _, inner := range []string{"mem", "tcp"} {
		for _, way := range ways {
			for _, rate := range []int64{1 << 20, 10 << 20, 100 << 20} {
				b.Run(fmt.Sprintf("%s/%s/%dMiB", inner, way.name, rate>>20), func(b *testing.B) {
					from, to := benchPair(b, inner, way.fromDialler, fault.Link{Bandwidth: rate, Latency: time.Millisecond})
					chunk := make([]byte, 32<<10)
					size := int(rate)
					var total time.Duration
					for b.Loop() {
						done := make(chan error, 1)
						go func() {
							_, err := io.CopyN(io.Discard, to, int64(size))
							done <- err
						}()
						start := time.Now()
						for sent := 0; sent < size; sent += len(chunk) {
							if _, err := from.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
								b.Fatal(err)
							}
						}
						if err := <-done; err != nil {
							b.Fatal(err)
						}
						total += time.Since(start)
					}
					b.ReportMetric(float64(size)*float64(b.N)/total.Seconds()/float64(rate), "rate/link")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

// BenchmarkShapedLatency sends 100-byte messages, one at a time, over a
// link with a latency of 20 ms and reports how much later than the
// latency they arrive.
func BenchmarkShapedLatency(b *testing.B) {
	for _, inner := range []string{"mem", "tcp"} {
		for _, way := range ways {
			b.Run(inner+"/"+way.name, func(b *testing.B) {
				const latency = 20 * time.Millisecond
				from, to := benchPair(b, inner, way.fromDialler, fault.Link{Bandwidth: 10 << 20, Latency: latency})
				msg := make([]byte, 100)
				buf := make([]byte, len(msg))
				var late []time.Duration
				for b.Loop() {
					// Read in the background: a pipe's write waits for the
					// reader.
					read := make(chan error, 1)
					go func() {
						_, err := io.ReadFull(to, buf)
						read <- err
					}()
					start := time.Now()
					if _, err := from.Write(msg); err != nil {
						b.Fatal(err)
					}
					if err := <-read; err != nil {
						b.Fatal(err)
					}
					late = append(late, time.Since(start)-latency)
				}
				slices.Sort(late)
				b.ReportMetric(float64(late[0].Microseconds()), "µs-late-min")
				b.ReportMetric(float64(late[len(late)/2].Microseconds()), "µs-late-median")
				b.ReportMetric(float64(late[len(late)*9/10].Microseconds()), "µs-late-p90")
				b.ReportMetric(float64(late[len(late)-1].Microseconds()), "µs-late-max")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
