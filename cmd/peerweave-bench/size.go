package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/peerweave/peerweave/internal/bench"
)

// byteSize is a flag of a number of bytes, written as a count with an
// optional unit: 2097152, 2MiB, 64KiB, 1GiB, 1500B.
type byteSize int64

// units are the suffixes byteSize accepts, longest first so that "MiB" is
// not read as "B".
var units = []struct {
	suffix string
	bytes  int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func (s *byteSize) Set(v string) error {
	t := strings.TrimSpace(v)
	unit := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, unit = strings.TrimSpace(rest), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return fmt.Errorf("%q is not a size such as 2MiB, 64KiB or 1500", v)
	}
	*s = byteSize(n * unit)
	return nil
}

func (s *byteSize) String() string { return bench.SizeName(int(*s)) }
