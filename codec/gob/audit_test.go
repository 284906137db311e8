package gob_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/gob"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./codec/gob that no other test checked when they were
// written.

// Codec is a codec.Codec and a codec.Values, ready as its zero value.
var (
	_ codec.Codec  = gob.Codec{}
	_ codec.Values = gob.Codec{}
)

// Name returns "gob".
func TestAuditNameIsGob(t *testing.T) {
	assert.Equal(t, "gob", gob.Codec{}.Name())
}

// Unmarshal refuses an encoding whose gob messages claim more bytes than
// it holds before encoding/gob sees it, so that a few bytes cannot make it
// set aside the 10 MiB encoding/gob allows a message.
func TestAuditUnmarshalOfAHugeClaimAllocatesLittle(t *testing.T) {
	c := gob.Codec{}
	for name, claim := range map[string][]byte{
		"9 MiB message":      {0xfd, 0x90, 0x00, 0x00, 0x01},
		"4 GiB message":      {0xfc, 0xff, 0xff, 0xff, 0xff, 0x01},
		"cut after 1 of 100": {0x64, 0x01},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var v struct{ Body []byte }
		err := c.Unmarshal(claim, &v)
		runtime.ReadMemStats(&after)
		assert.Error(t, err, name)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<10), name)
	}
}

// A control message is a gob stream of its own: a decoder of a new
// connection decodes any frame, whatever the encoder sent before it.
func TestAuditEachControlMessageStandsAlone(t *testing.T) {
	c := gob.Codec{}
	enc := c.NewEncoder()
	var frames [][]byte
	for _, addr := range []string{"10.0.0.1:7946", "10.0.0.2:7946"} {
		b, err := enc.Append(nil, &codec.Hello{Addr: addr, Nonce: []byte{1}})
		require.NoError(t, err)
		frames = append(frames, b)
	}
	var h codec.Hello
	require.NoError(t, c.NewDecoder().Decode(frames[1], &h), "the second frame alone, on a new decoder")
	assert.Equal(t, "10.0.0.2:7946", h.Addr)
}

// Marshal and Unmarshal are safe for concurrent use.
func TestAuditValuesAreSafeForConcurrentUse(t *testing.T) {
	c := gob.Codec{}
	type value struct {
		N    int
		Tags []string
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				want := value{N: i*1000 + j, Tags: []string{"a", "b"}}
				b, err := c.Marshal(want)
				if !assert.NoError(t, err) {
					return
				}
				var got value
				if !assert.NoError(t, c.Unmarshal(b, &got)) {
					return
				}
				assert.Equal(t, want, got)
			}
		})
	}
	wg.Wait()
}
