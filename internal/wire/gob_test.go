package wire

import (
	"bytes"
	"encoding/gob"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frames encodes each value as one frame, on one gob stream.
func frames(t *testing.T, vs ...any) [][]byte {
	var out [][]byte
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	for _, v := range vs {
		buf.Reset()
		require.NoError(t, enc.Encode(v))
		out = append(out, bytes.Clone(buf.Bytes()))
	}
	return out
}

func TestGobDecoderReadsFrameByFrame(t *testing.T) {
	fs := frames(t, &Hello{Addr: "127.0.0.1:1", Nonce: []byte("n")}, &Peers{Addrs: []string{"a", "b"}}, &Hello{Addr: "x"})
	var r BodyReader
	d := NewGobDecoder(&r)
	var h Hello
	r.Reset(fs[0])
	require.NoError(t, d.Decode(&h))
	assert.Equal(t, "127.0.0.1:1", h.Addr)
	var p Peers
	r.Reset(fs[1])
	require.NoError(t, d.Decode(&p))
	assert.Equal(t, []string{"a", "b"}, p.Addrs)
	r.Reset(fs[2])
	h = Hello{}
	require.NoError(t, d.Decode(&h))
	assert.Equal(t, "x", h.Addr)
	assert.Zero(t, r.Len())
}

func TestGobDecoderRefusesClaimsBeyondTheFrame(t *testing.T) {
	valid := frames(t, &Hello{Addr: "127.0.0.1:1", Nonce: []byte("n")})[0]
	for name, f := range map[string][]byte{
		"claims 9 MiB":       {0xfd, 0x90, 0x00, 0x00, 0x01, 0x02},
		"claims 2^64-1":      {0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"count cut short":    {0xfd, 0x90},
		"bad count width":    {0xf0, 1, 2, 3},
		"one byte short":     valid[:len(valid)-1],
		"bytes after":        append(bytes.Clone(valid), 0x03, 0xff, 0xff),
		"9 bytes of a count": {0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	} {
		var r BodyReader
		r.Reset(f)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		err := NewGobDecoder(&r).Decode(new(Hello))
		runtime.ReadMemStats(&ms)
		assert.Error(t, err, name)
		assert.Less(t, ms.TotalAlloc-before, uint64(64<<10), name)
	}
}
