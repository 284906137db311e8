package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The report says at its top how it was made, on what and when, then holds
// the table, whole, in the file it names, with nothing left beside it.
func TestReportIsWrittenWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "BENCHMARKS.md")
	require.NoError(t, os.WriteFile(path, []byte("an older report"), 0o644))
	r := report{
		args:     []string{"-out", "BENCHMARKS.md", "-n", "5,10", "-only", "throughput"},
		host:     machine(),
		started:  time.Date(2026, 12, 7, 16, 30, 0, 0, time.UTC),
		took:     95 * time.Second,
		rows:     []row{{what: "One-way | throughput", measured: "1 msg/s", baseline: "2 msg/s", ratio: "0.5×"}},
		sections: []string{"throughput"},
	}
	require.NoError(t, r.writeFile(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	got := string(b)
	for _, want := range []string{
		"# peerweave benchmarks\n",
		"- Command: `go run ./cmd/peerweave-bench -out BENCHMARKS.md -n 5,10 -only throughput`\n",
		"- Date: 2026-12-07 16:30 UTC (the run took 1m35s)\n",
		"- Machine: ",
		"- OS: ",
		"| One-way \\| throughput | 1 msg/s | 2 msg/s | 0.5× |\n",
		"## How to read it",
	} {
		assert.Contains(t, got, want)
	}
	assert.Less(t, strings.Index(got, "- Command:"), strings.Index(got, "| Measurement |"), "the header comes first")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")
}

func TestCommandQuotesWhatTheShellWouldSplit(t *testing.T) {
	assert.Equal(t, "go run ./cmd/peerweave-bench", command(nil))
	assert.Equal(t, `go run ./cmd/peerweave-bench -only 'a b' '' 'it'\''s'`, command([]string{"-only", "a b", "", "it's"}))
}
