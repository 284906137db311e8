package gob_test

import (
	"testing"

	"github.com/peerweave/peerweave/codec/codectest"
	"github.com/peerweave/peerweave/codec/gob"
)

// allowAlloc is what encoding/gob may allocate whatever a frame holds: it
// sets aside up to 10 MiB (internal/saferio's chunk) for the length of a
// slice that a frame claims, before it reads what is there. The codec stops
// such claims for whole messages (wire.GobDecoder); for the slices inside a
// message, nothing short of parsing gob itself could. Only peer lists have
// such slices, and they come after the handshake, from admitted peers who
// may send frames of the full message size anyway.
var allowAlloc = codectest.AllowAlloc(10<<20 + 256<<10)

func TestConformance(t *testing.T) { codectest.Run(t, gob.Codec{}, allowAlloc) }

func FuzzDecode(f *testing.F) { codectest.Fuzz(f, gob.Codec{}, allowAlloc) }
