// Package testlog has log/slog handlers for tests. A Recorder keeps every
// record as one line of text ("LEVEL message key=value ..."), so that a test
// can look for what a node logged, and echoes each line to the test's log. A
// Counter only counts records, for tests that cause too many to keep.
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
	mu      sync.Mutex
	text    []string
	changed chan struct{} // closed and replaced when a line comes
}

// New returns a Recorder that echoes to t's log.
func New(t testing.TB) *Recorder {
	return &Recorder{t: t, shared: &lines{changed: make(chan struct{})}}
}

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
	close(r.shared.changed)
	r.shared.changed = make(chan struct{})
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
	found, _ := r.find(words)
	return found
}

// find returns the lines that contain every one of words, and a channel
// closed when the next line comes.
func (r *Recorder) find(words []string) ([]string, <-chan struct{}) {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	var out []string
	for _, l := range r.shared.text {
		if containsAll(l, words) {
			out = append(out, l)
		}
	}
	return out, r.shared.changed
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
// looking again as each line comes, and fails t if none comes.
func (r *Recorder) Wait(t testing.TB, timeout time.Duration, words ...string) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		found, changed := r.find(words)
		if len(found) > 0 {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			require.FailNow(t, "no log line", "no log line with %q within %v", words, timeout)
		}
	}
}

// Reset forgets the lines kept so far.
func (r *Recorder) Reset() {
	r.shared.mu.Lock()
	r.shared.text = nil
	r.shared.mu.Unlock()
}

// Counter is a slog.Handler that counts records by message and keeps
// nothing else: for tests that cause too many records to keep or echo.
// Handlers derived from it share its counts.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
}

// NewCounter returns a Counter that has counted nothing.
func NewCounter() *Counter { return &Counter{counts: make(map[string]int)} }

// Logger returns a logger that writes to c.
func (c *Counter) Logger() *slog.Logger { return slog.New(c) }

// Enabled reports true: a Counter counts every level.
func (c *Counter) Enabled(context.Context, slog.Level) bool { return true }

// Handle counts the record under its message.
func (c *Counter) Handle(_ context.Context, rec slog.Record) error {
	c.mu.Lock()
	c.counts[rec.Message]++
	c.mu.Unlock()
	return nil
}

// WithAttrs returns c: a Counter looks at messages only.
func (c *Counter) WithAttrs([]slog.Attr) slog.Handler { return c }

// WithGroup returns c: a Counter looks at messages only.
func (c *Counter) WithGroup(string) slog.Handler { return c }

// Count returns how many records had a message that starts with prefix.
func (c *Counter) Count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for msg, k := range c.counts {
		if strings.HasPrefix(msg, prefix) {
			n += k
		}
	}
	return n
}
