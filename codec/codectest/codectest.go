package codectest

import (
	"testing"

	"github.com/peerweave/peerweave/codec"
)

// Run checks c against everything a node relies on, each check a subtest.
//
// Run measures allocations process-wide: call it from a test that does not
// run in parallel with others (do not call t.Parallel before it), or the
// allocations of other tests count against c.
func Run(t *testing.T, c codec.Codec, opts ...Option) {
	t.Helper()
	s := newSuite(c, opts)
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			if err := ch.run(s); err != nil {
				t.Error(err)
			}
		})
	}
}

// An Option changes what Run and Fuzz require of a codec.
type Option func(*suite)

// AllowAlloc lets a Decode allocate n bytes, instead of 256 KiB, on top of
// its share for the size of the frame. A codec should not need it: it is
// for a codec whose underlying library sets aside a fixed amount for the
// lengths a frame claims, so that the rest of the codec can still be
// checked. Say why where you use it. encoding/gob, for one, allocates up to
// 10 MiB for a slice or a message whatever its frame holds.
func AllowAlloc(n int) Option {
	return func(s *suite) { s.allocBase = uint64(n) }
}

// suite is a codec under test and what is required of it.
type suite struct {
	codec     codec.Codec
	allocBase uint64
}

func newSuite(c codec.Codec, opts []Option) *suite {
	s := &suite{codec: c, allocBase: defaultAllocBase}
	for _, o := range opts {
		o(s)
	}
	return s
}

// check is one requirement on a codec; run returns every way the codec
// fails it.
type check struct {
	name string
	run  func(*suite) error
}

var checks = []check{
	{"Name", (*suite).checkName},
	{"RoundTrip", (*suite).checkRoundTrip},
	{"Sequence", (*suite).checkSequence},
	{"Concurrent", (*suite).checkConcurrent},
	{"Truncated", (*suite).checkTruncated},
	{"TrailingBytes", (*suite).checkTrailing},
	{"Garbage", (*suite).checkGarbage},
	{"OtherType", (*suite).checkOtherType},
	{"HugeClaims", (*suite).checkClaims},
	{"Values", (*suite).checkValues},
}
