package codectest_test

import (
	"testing"

	"github.com/peerweave/peerweave/codec/codectest"
	"github.com/peerweave/peerweave/codec/msgpack"
)

// A codec's test file checks it and fuzzes its decoder, one line each. Run
// the fuzz target with go test -fuzz=FuzzDecode.
func Example() {
	_ = func(t *testing.T) { codectest.Run(t, msgpack.Codec{}) }
	_ = func(f *testing.F) { codectest.Fuzz(f, msgpack.Codec{}) }
}
