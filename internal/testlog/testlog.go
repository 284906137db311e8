// Package testlog is a log/slog handler for tests: it keeps every record as
// one line of text ("LEVEL message key=value ..."), so that a test can look
// for what a node logged, and echoes each line to the test's log.
package testlog

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Recorder is a slog.Handler that keeps what it handles. Handlers derived
// with WithAttrs share their Recorder's lines.
type Recorder struct {
	t      testing.TB
	attrs  []slog.Attr
	shared *lines
}

type lines struct {
	mu   sync.Mutex
	text []string
}

// New returns a Recorder that echoes to t's log.
func New(t testing.TB) *Recorder { return &Recorder{t: t, shared: &lines{}} }

// Logger returns a logger that writes to r.
func (r *Recorder) Logger() *slog.Logger { return slog.New(r) }

// Enabled reports true: a Recorder keeps every level.
func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps the record as a line of text.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
	for _, a := range r.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	r.shared.mu.Lock()
	r.shared.text = append(r.shared.text, b.String())
	r.shared.mu.Unlock()
	r.t.Log(b.String())
	return nil
}

// WithAttrs returns a handler that adds as to every line.
func (r *Recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &Recorder{t: r.t, attrs: append(slices.Clone(r.attrs), as...), shared: r.shared}
}

// WithGroup returns r: tests need no groups.
func (r *Recorder) WithGroup(string) slog.Handler { return r }

// Find returns the lines that contain every one of words.
func (r *Recorder) Find(words ...string) []string {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	var out []string
	for _, l := range r.shared.text {
		if containsAll(l, words) {
			out = append(out, l)
		}
	}
	return out
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// Wait waits up to timeout for a line that contains every one of words,
// and fails t if none comes.
func (r *Recorder) Wait(t testing.TB, timeout time.Duration, words ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.Find(words...)) > 0 }, timeout, 5*time.Millisecond,
		"no log line with %q", words)
}

// Reset forgets the lines kept so far.
func (r *Recorder) Reset() {
	r.shared.mu.Lock()
	r.shared.text = nil
	r.shared.mu.Unlock()
}
