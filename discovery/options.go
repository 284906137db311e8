package discovery

import (
	"log/slog"
	"time"
)

// Defaults of Join's settings.
const (
	// DefaultInterval is how long Join waits between rounds while the
	// source answers.
	DefaultInterval = 30 * time.Second
	// DefaultMinBackoff is how long Join waits after a round in which the
	// source failed; the wait doubles with each failure in a row, up to
	// DefaultMaxBackoff, and is jittered between half of it and all of it.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the wait after failed rounds.
	DefaultMaxBackoff = time.Minute
	// DefaultTimeout bounds each call to the source and each add. The node
	// bounds an add by its own network timeout too.
	DefaultTimeout = 10 * time.Second
	// DefaultConcurrency is how many adds run at once.
	DefaultConcurrency = 4
)

// An Option configures Join. Options with a value out of range are ignored.
type Option func(*config)

type config struct {
	interval    time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	timeout     time.Duration
	concurrency int
	logger      *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{
		interval:    DefaultInterval,
		minBackoff:  DefaultMinBackoff,
		maxBackoff:  DefaultMaxBackoff,
		timeout:     DefaultTimeout,
		concurrency: DefaultConcurrency,
		logger:      slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithInterval sets the time between rounds while the source answers
// (default DefaultInterval).
func WithInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.interval = d
		}
	}
}

// WithBackoff sets the first and the longest wait after rounds in which the
// source failed (defaults DefaultMinBackoff and DefaultMaxBackoff). It needs
// 0 < lo <= hi.
func WithBackoff(lo, hi time.Duration) Option {
	return func(c *config) {
		if 0 < lo && lo <= hi {
			c.minBackoff, c.maxBackoff = lo, hi
		}
	}
}

// WithTimeout bounds each call to the source and each add (default
// DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithConcurrency sets how many adds run at once (default
// DefaultConcurrency).
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// WithLogger sends Join's logs to l (default slog.Default()): a warning when
// the source fails or its error changes, info when it recovers or an
// address cannot be added, debug for the rest.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
