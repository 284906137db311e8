package msgpack_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/msgpack"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./codec/msgpack that no other test checked when they were
// written.

// Codec is a codec.Codec and a codec.Values, ready as its zero value.
var (
	_ codec.Codec  = msgpack.Codec{}
	_ codec.Values = msgpack.Codec{}
)

// Name returns "msgpack".
func TestAuditNameIsMsgpack(t *testing.T) {
	assert.Equal(t, "msgpack", msgpack.Codec{}.Name())
}

// Marshal encodes a struct as a map from field name to value.
func TestAuditMarshalEncodesAStructAsAMap(t *testing.T) {
	b, err := msgpack.Codec{}.Marshal(struct{ Key string }{"v"})
	require.NoError(t, err)
	// fixmap of one entry, fixstr "Key", fixstr "v"
	assert.Equal(t, []byte{0x81, 0xa3, 'K', 'e', 'y', 0xa1, 'v'}, b)
}

// Unmarshal refuses a map that sets a field v's struct does not have,
// rather than drop that field silently.
func TestAuditUnmarshalRefusesAFieldTheStructLacks(t *testing.T) {
	c := msgpack.Codec{}
	b, err := c.Marshal(struct{ A, B int }{1, 2})
	require.NoError(t, err)
	var half struct{ A int }
	assert.Error(t, c.Unmarshal(b, &half))
}

// Unmarshal allocates in proportion to len(b), whatever lengths b claims:
// a few bytes that claim 4 GiB cost a few bytes.
func TestAuditUnmarshalOfAHugeClaimAllocatesLittle(t *testing.T) {
	c := msgpack.Codec{}
	for name, claim := range map[string][]byte{
		"bin32":   {0xc6, 0xff, 0xff, 0xff, 0xff, 1},
		"str32":   {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'},
		"array32": {0xdd, 0xff, 0xff, 0xff, 0xff, 0xa0},
		"map32":   {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa0},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var v any
		err := c.Unmarshal(claim, &v)
		runtime.ReadMemStats(&after)
		assert.Error(t, err, name)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), name)
	}
}

// Marshal and Unmarshal are safe for concurrent use.
func TestAuditValuesAreSafeForConcurrentUse(t *testing.T) {
	c := msgpack.Codec{}
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
