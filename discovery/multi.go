package discovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Multi returns a source that names every address that any of sources
// names. The sources are asked at once. One that fails does not hide the
// others' addresses: Multi returns them with an error that names the failing
// source and wraps its error.
func Multi(sources ...Source) Source { return multi(sources) }

type multi []Source

func (m multi) Addrs(ctx context.Context) ([]string, error) {
	type answer struct {
		addrs []string
		err   error
	}
	answers := make([]answer, len(m))
	var wg sync.WaitGroup
	for i, s := range m {
		wg.Go(func() {
			a, err := s.Addrs(ctx)
			answers[i] = answer{a, err}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	var addrs []string
	var errs []error
	for i, a := range answers {
		if a.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", describe(m[i]), a.err))
		}
		for _, addr := range a.addrs {
			if !seen[addr] {
				seen[addr] = true
				addrs = append(addrs, addr)
			}
		}
	}
	return addrs, errors.Join(errs...)
}

func (m multi) String() string {
	names := make([]string, len(m))
	for i, s := range m {
		names[i] = describe(s)
	}
	return "multi(" + strings.Join(names, ", ") + ")"
}
