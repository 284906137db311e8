package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFlagsAreChecked(t *testing.T) {
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, []int{10, 50, 100, 200}, cfg.sizes)
	assert.True(t, cfg.concurrent)
	assert.Equal(t, "tcp+gob", cfg.stackName())
	assert.Len(t, cfg.only, len(sections))

	for _, bad := range [][]string{
		{"-transport", "pigeon"},
		{"-codec", "morse"},
		{"-n", "10,1"},
		{"-n", "ten"},
		{"-join", "eventually"},
		{"-only", "speed"},
		{"-payload", "-1"},
		{"-duration", "0s"},
		{"-fail-n", "1"},
		{"-rounds", "0"},
		{"-converge-rounds", "0"},
	} {
		_, err := parseFlags(bad)
		assert.Error(t, err, "%v", bad)
	}
}

func TestRunFillsTheTable(t *testing.T) {
	cfg, err := parseFlags([]string{"-transport", "mem", "-n", "3,4", "-converge-rounds", "2", "-duration", "50ms", "-rounds", "2",
		"-fail-n", "3", "-fail-rounds", "1", "-healthy", "50ms", "-timeout", "100ms"})
	require.NoError(t, err)
	rows := run(cfg)
	var out bytes.Buffer
	printTable(&out, rows)
	t.Log("\n" + out.String())
	// Two throughput rows, p50 and p99, two convergence rows, memory, two
	// kinds of failure.
	require.Len(t, rows, 9)
	for _, r := range rows {
		assert.False(t, r.failed, "%s: %s", r.what, r.measured)
	}
	assert.Contains(t, rows[6].what, "4-node mesh")
	assert.Equal(t, len(rows)+2, strings.Count(out.String(), "\n"), "a header, a rule and one line per row")
}

func TestConvergenceSkipsMeshesOverTheOpenFileLimit(t *testing.T) {
	limit, known := openFileLimit()
	if !known {
		t.Skip("no open-file limit on this system")
	}
	_, _, ok := fdsFit(transports["tcp"], int(limit))
	assert.False(t, ok)
	_, _, ok = fdsFit(transports["mem"], int(limit))
	assert.True(t, ok, "mem uses no file descriptors")
	_, _, ok = fdsFit(transports["tcp"], 2)
	assert.True(t, ok)
}

func TestFormats(t *testing.T) {
	assert.Equal(t, "0", group(0))
	assert.Equal(t, "999", group(999))
	assert.Equal(t, "1,000", group(1000))
	assert.Equal(t, "12,345,678", group(12345678))
	assert.Equal(t, "21.3 µs", fmtDur(21300*time.Nanosecond))
	assert.Equal(t, "300.0 ms", fmtDur(300*time.Millisecond))
	assert.Equal(t, "2.51 s", fmtDur(2510*time.Millisecond))
	assert.Equal(t, "0.333×", fmtRatio(1.0/3))
	assert.Equal(t, `a \| b`, cell("a | b"))
	assert.True(t, strings.HasPrefix(machine(), "Machine: "))
}

func TestSizesParse(t *testing.T) {
	for in, want := range map[string]byteSize{"1500": 1500, "1500B": 1500, "64KiB": 64 << 10, "2MiB": 2 << 20, " 1 GiB ": 1 << 30, "0": 0} {
		var s byteSize
		require.NoError(t, s.Set(in), "%q", in)
		assert.Equal(t, want, s, "%q", in)
	}
	for _, bad := range []string{"", "2MB", "-1", "MiB", "1.5MiB", "99999999999GiB"} {
		var s byteSize
		assert.Error(t, s.Set(bad), "%q", bad)
	}
	s := byteSize(16 << 20)
	assert.Equal(t, "16MiB", s.String())
}
