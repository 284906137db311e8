package main

import (
	"bytes"
	"errors"
	"slices"
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
	assert.Equal(t, byteSize(10<<20), cfg.slowBandwidth)
	assert.Equal(t, byteSize(16<<20), cfg.slowPayload)
	assert.Equal(t, time.Millisecond, cfg.slowLatency)
	assert.Equal(t, 5, cfg.inboxTimeouts)

	cfg, err = parseFlags([]string{"-only", "slowlink,inbox", "-slow-payload", "2MiB", "-slow-bandwidth", "1MiB"})
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"slowlink": true, "inbox": true}, cfg.only)
	assert.Equal(t, byteSize(2<<20), cfg.slowPayload)
	assert.Equal(t, byteSize(1<<20), cfg.slowBandwidth)

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
		{"-scale-n", "1"},
		{"-rounds", "0"},
		{"-converge-rounds", "0"},
		{"-slow-bandwidth", "0"},
		{"-slow-bandwidth", "2TiB"},
		{"-slow-bandwidth", "fast"},
		{"-slow-latency", "-1ms"},
		{"-slow-payload", "0"},
		{"-slow-payload", "2GiB"},
		{"-inbox-timeouts", "0"},
	} {
		_, err := parseFlags(bad)
		assert.Error(t, err, "%v", bad)
	}
}

func TestRunFillsTheTable(t *testing.T) {
	cfg, err := parseFlags([]string{"-transport", "mem", "-n", "3,4", "-scale-n", "5", "-converge-rounds", "2", "-duration", "50ms", "-rounds", "2",
		"-fail-n", "3", "-fail-rounds", "1", "-healthy", "50ms", "-timeout", "100ms", "-slow-payload", "256KiB", "-inbox-timeouts", "2"})
	require.NoError(t, err)
	rows := run(cfg)
	var out bytes.Buffer
	printTable(&out, rows)
	t.Log("\n" + out.String())
	for _, r := range rows {
		assert.False(t, r.failed, "%s: %s", r.what, r.measured)
	}
	// Every section has its rows, in the order of the sections.
	next := 0
	for _, want := range []string{"through a message handler", "quic+gob", "observed", "Join work per node, 3 nodes", "4-node mesh",
		"Slow link", "Unread inbox", "Request round trip", "Queries", "+gob", "+msgpack", "Convergence, 5 nodes, mem+gob"} {
		i := slices.IndexFunc(rows[next:], func(r row) bool { return strings.Contains(r.what, want) })
		if !assert.GreaterOrEqual(t, i, 0, "no row %q after row %d", want, next) {
			continue
		}
		next += i + 1
	}
	joins := slices.IndexFunc(rows, func(r row) bool { return strings.Contains(r.what, "Join work per node, 3 nodes") })
	if assert.Positive(t, joins) {
		assert.Contains(t, rows[joins].measured, "peer-list entries sent")
		assert.Contains(t, rows[joins-1].baseline, "raw mesh")
	}
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

// tiny is the configuration of a quick run of the given sections on the
// in-memory transport, with a short network timeout.
func tiny(t *testing.T, only string, extra ...string) config {
	cfg, err := parseFlags(append([]string{"-transport", "mem", "-only", only, "-healthy", "50ms", "-timeout", "100ms"}, extra...))
	require.NoError(t, err)
	return cfg
}

func TestSlowLinkRowsAreSane(t *testing.T) {
	cfg := tiny(t, "slowlink", "-slow-payload", "512KiB", "-slow-bandwidth", "8MiB", "-slow-latency", "2ms")
	res, err := measureSlowLink(cfg)
	require.NoError(t, err)
	rows := slowLinkRows(cfg, res, nil)
	var out bytes.Buffer
	printTable(&out, rows)
	t.Log("\n" + out.String())

	require.Len(t, rows, 4, "the transfer, p50, p99, removals")
	for _, r := range rows {
		assert.False(t, r.failed, "%s: %s", r.what, r.measured)
	}
	assert.Empty(t, res.removed)
	// No transfer beats the link, and no message arrives before its latency.
	assert.GreaterOrEqual(t, res.took, 62*time.Millisecond, "512 KiB at 8 MiB/s")
	assert.LessOrEqual(t, res.rate(), float64(cfg.slowBandwidth)*1.01)
	assert.Less(t, res.queued, res.took, "Send queues the payload; it does not wait for it to cross")
	require.NotEmpty(t, res.ticks, "small messages crossed during the transfer")
	assert.GreaterOrEqual(t, res.ticks[0], 2*time.Millisecond)
	assert.Contains(t, rows[0].what, "512KiB")
	assert.Contains(t, rows[1].what, "p50")
	assert.Contains(t, rows[2].what, "p99")
	assert.Equal(t, "none removed", rows[3].measured)
	assert.Equal(t, 9.8125, float64(fragmentTime(cfg.slowLinkShape()))/float64(time.Millisecond),
		"64 KiB at 8 MiB/s is 7.8125 ms, 9.8125 ms with the latency")
}

func TestUnreadInboxLosesNothing(t *testing.T) {
	// Payloads of 64 KiB fill the window (16 MiB) and the send queue fast,
	// even under the race detector.
	cfg := tiny(t, "inbox", "-inbox-timeouts", "5", "-payload", "65536")
	res, err := measureInbox(cfg)
	require.NoError(t, err)
	rows := inboxRows(cfg, res, nil)
	var out bytes.Buffer
	printTable(&out, rows)
	t.Log("\n" + out.String())

	require.Len(t, rows, 1)
	assert.False(t, rows[0].failed, rows[0].measured)
	assert.Positive(t, res.accepted)
	assert.Positive(t, res.timeouts, "the window never filled: Send never waited out its timeout")
	assert.Zero(t, res.others, "%v", res.otherErr)
	assert.Equal(t, res.accepted, res.delivered)
	assert.Zero(t, res.outOfOrder)
	assert.Empty(t, res.removed)
	assert.Equal(t, "1×", rows[0].ratio)
	assert.Equal(t, "accepted by Send: "+group(res.accepted), rows[0].baseline)
}

func TestFailedRunsMakeFailedRows(t *testing.T) {
	cfg := tiny(t, "slowlink,inbox")
	rows := append(slowLinkRows(cfg, slowResult{}, errors.New("broken")), inboxRows(cfg, inboxResult{}, errors.New("broken"))...)
	require.Len(t, rows, 2)
	for _, r := range rows {
		assert.True(t, r.failed)
	}
	// A run that lost a message, or a remote, fails too.
	lost := inboxResult{payload: 8, accepted: 10, delivered: 9, timeouts: 1}
	assert.True(t, inboxRows(cfg, lost, nil)[0].failed)
	removed := slowResult{payload: 1, took: time.Second, removed: []string{"A removed 127.0.0.1:1"}}
	assert.True(t, slowLinkRows(cfg, removed, nil)[3].failed)
}
