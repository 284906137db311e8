package gob_test

import (
	"testing"

	"github.com/peerweave/peerweave/codec/codectest"
	"github.com/peerweave/peerweave/codec/gob"
)

// allowAlloc is what encoding/gob may allocate whatever a frame holds: it
// sets aside up to 10 MiB (internal/saferio's chunk) for the length of a
// message or of a slice that a frame claims, before it reads what is there.
// Nothing in this codec can prevent it short of parsing gob itself.
var allowAlloc = codectest.AllowAlloc(10<<20 + 256<<10)

func TestConformance(t *testing.T) { codectest.Run(t, gob.Codec{}, allowAlloc) }

func FuzzDecode(f *testing.F) { codectest.Fuzz(f, gob.Codec{}, allowAlloc) }
