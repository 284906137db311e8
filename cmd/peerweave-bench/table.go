package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/peerweave/peerweave/internal/bench"
)

// row is one line of the table.
type row struct {
	what, measured, baseline, ratio string
	failed                          bool
}

// failed is the row of a measurement that failed.
func failed(what string, err error) row {
	return row{what: what, measured: "FAILED: " + err.Error(), baseline: "—", ratio: "—", failed: true}
}

func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| Measurement | peerweave | Baseline | peerweave ÷ baseline |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell(r.what), cell(r.measured), cell(r.baseline), cell(r.ratio))
	}
}

// cell keeps s from breaking the table.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// machine names the machine and the Go that runs the measurements, and the
// load on the machine, which other processes may share.
func machine() string {
	return fmt.Sprintf("Machine: %s, %d logical CPUs, GOMAXPROCS %d, %s %s/%s, load average %s",
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())
}

// loadAverage returns the one-minute load average where the system says it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// cpuModel returns the CPU's model name where the system says it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

func fmtRate(r bench.Rate) string {
	s := fmt.Sprintf("%s msg/s, %s MB/s", group(int64(r.MsgsPerSec())), group(int64(r.MBPerSec())))
	if r.CPU > 0 {
		s += fmt.Sprintf(", %s CPU/msg", fmtDur(r.CPUPerMsg()))
	}
	return s
}

func fmtRatio(x float64) string { return fmt.Sprintf("%.3g×", x) }

// fmtDur prints d with three or four significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtBytes(b float64) string {
	if b >= 1<<20 {
		return fmt.Sprintf("%.2f MiB", b/(1<<20))
	}
	if b >= 1<<10 {
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// group writes n, not negative, with thousands separated by commas.
func group(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
