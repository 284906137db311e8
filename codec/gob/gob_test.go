package gob_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/codectest"
	"github.com/peerweave/peerweave/codec/gob"
)

// allowAlloc is what encoding/gob may allocate whatever a frame holds: it
// sets aside up to 10 MiB (internal/saferio's chunk) for the length of a
// slice that a frame claims, before it reads what is there. The decoder
// stops such claims for whole messages (TestDecodeRefusesClaimsBeyondTheFrame);
// for the slices inside a message, nothing short of parsing gob itself
// could. Only peer lists have such slices, and they come after the
// handshake, from admitted peers who may send frames of the full message
// size anyway.
var allowAlloc = codectest.AllowAlloc(10<<20 + 256<<10)

func TestConformance(t *testing.T) { codectest.Run(t, gob.Codec{}, allowAlloc) }

func FuzzDecode(f *testing.F) { codectest.Fuzz(f, gob.Codec{}, allowAlloc) }

// TestDecodeRefusesClaimsBeyondTheFrame feeds the decoder frames whose gob
// messages claim more than the frame holds, which it must refuse before
// encoding/gob sets the claimed memory aside.
func TestDecodeRefusesClaimsBeyondTheFrame(t *testing.T) {
	valid, err := gob.Codec{}.NewEncoder().Append(nil, &codec.Hello{Addr: "127.0.0.1:1", Nonce: []byte("n")})
	require.NoError(t, err)
	for name, f := range map[string][]byte{
		"claims 9 MiB":       {0xfd, 0x90, 0x00, 0x00, 0x01, 0x02},
		"claims 2^64-1":      {0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"count cut short":    {0xfd, 0x90},
		"bad count width":    {0xf0, 1, 2, 3},
		"one byte short":     valid[:len(valid)-1],
		"bytes after":        append(bytes.Clone(valid), 0x03, 0xff, 0xff),
		"9 bytes of a count": {0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	} {
		dec := gob.Codec{}.NewDecoder()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		err := dec.Decode(f, new(codec.Hello))
		runtime.ReadMemStats(&ms)
		assert.Error(t, err, name)
		assert.Less(t, ms.TotalAlloc-before, uint64(64<<10), name)
	}
}
