package codectest_test

import (
	"testing"

	"github.com/peerweave/peerweave/codec/codectest"
)

// TestHandWrittenCodec checks the codec of the package example: a codec
// without reflection meets the suite.
func TestHandWrittenCodec(t *testing.T) { codectest.Run(t, handCodec{}) }
