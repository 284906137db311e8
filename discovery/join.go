package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// Node is what Join needs of a node. *cluster.Node has it.
type Node interface {
	// AddContext joins the node at addr. An error that wraps
	// cluster.ErrClosed means the node is closed, and ends Join.
	AddContext(ctx context.Context, addr string) error
	// Remotes lists the remotes the node knows, which Join skips.
	Remotes() []cluster.Remote
	// String is the node's own address, which Join skips.
	String() string
	// Done is closed when the node closes, which ends Join.
	Done() <-chan struct{}
}

// Join adds to n the peers that src names, at once and then every interval,
// until ctx ends or n closes. It returns context.Cause(ctx), or an error
// that wraps cluster.ErrClosed. Every goroutine it starts has ended when it
// returns.
//
// Join never fails on account of the source: a failing source is logged and
// retried with backoff. See the package documentation for what it does and
// does not do, and the options for its settings.
func Join(ctx context.Context, n Node, src Source, opts ...Option) error {
	ctx, cancel := context.WithCancelCause(ctx)
	var watch sync.WaitGroup
	defer watch.Wait()
	defer cancel(nil)
	watch.Go(func() {
		select {
		case <-n.Done():
			cancel(fmt.Errorf("discovery: node %s: %w", n, cluster.ErrClosed))
		case <-ctx.Done():
		}
	})
	cfg := newConfig(opts)
	j := &joiner{
		cfg:  cfg,
		node: n,
		src:  src,
		log:  cfg.logger.With("node", n.String(), "source", describe(src)),
	}
	for {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		wait, err := j.round(ctx)
		if err != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// joiner is the state of one Join; only its goroutine uses it.
type joiner struct {
	cfg      config
	node     Node
	src      Source
	log      *slog.Logger
	failures int    // rounds in a row in which the source failed
	lastErr  string // the error of the last round, "" if none
}

// round asks the source, adds what is new and returns how long to wait for
// the next round. It fails only when the node is closed.
func (j *joiner) round(ctx context.Context) (time.Duration, error) {
	sctx, cancel := context.WithTimeout(ctx, j.cfg.timeout)
	addrs, err := j.src.Addrs(sctx)
	cancel()
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	fresh, valid, bad := j.candidates(addrs)
	j.report(errors.Join(err, bad))
	if err != nil && valid == 0 {
		j.failures++
	} else {
		j.failures = 0
	}
	if err := j.add(ctx, fresh); err != nil {
		return 0, err
	}
	if j.failures > 0 {
		return backoff(j.cfg.minBackoff, j.cfg.maxBackoff, j.failures), nil
	}
	return j.cfg.interval, nil
}

// candidates returns the addresses to add: the valid ones, normalised, less
// duplicates, the node's own address and its remotes. It also returns how
// many addresses were valid and an error for the others.
func (j *joiner) candidates(addrs []string) (fresh []string, valid int, err error) {
	skip := make(map[string]bool)
	if self, err := normalize(j.node.String()); err == nil {
		skip[self] = true
	}
	for _, r := range j.node.Remotes() {
		if k, err := normalize(r.String()); err == nil {
			skip[k] = true
		}
	}
	var errs []error
	for _, a := range addrs {
		k, err := normalize(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		valid++
		if !skip[k] {
			skip[k] = true
			fresh = append(fresh, k)
		}
	}
	return fresh, valid, errors.Join(errs...)
}

// report logs a round's error: a warning when it is new, debug while it
// stays the same, and info when the source answers cleanly again.
func (j *joiner) report(err error) {
	switch {
	case err != nil && err.Error() != j.lastErr:
		j.log.Warn("discovery source failed", "err", err)
	case err != nil:
		j.log.Debug("discovery source still failing", "err", err)
	case j.lastErr != "":
		j.log.Info("discovery source recovered")
	}
	j.lastErr = ""
	if err != nil {
		j.lastErr = err.Error()
	}
}

// add adds addrs, a few at a time, and waits for every add. It returns an
// error, which wraps cluster.ErrClosed, when the node is closed.
func (j *joiner) add(ctx context.Context, addrs []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, j.cfg.concurrency)
	var wg sync.WaitGroup
	for _, a := range addrs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			actx, cancelAdd := context.WithTimeout(ctx, j.cfg.timeout)
			err := j.node.AddContext(actx, a)
			cancelAdd()
			switch {
			case err == nil:
				j.log.Debug("discovery added peer", "addr", a)
			case errors.Is(err, cluster.ErrClosed):
				cancel(err)
			case ctx.Err() == nil:
				j.log.Info("discovery cannot add peer", "addr", a, "err", err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, cluster.ErrClosed) {
		return err
	}
	return nil
}

// backoff returns the wait after the given number (at least 1) of failures
// in a row: lo doubled for each failure after the first, at most hi, and
// jittered between half of that and all of it, so that nodes that failed
// together do not retry together.
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d-d/2+1)
}
