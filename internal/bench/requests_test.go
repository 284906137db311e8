package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
)

func TestRequestsReturnEveryPayload(t *testing.T) {
	e, err := NodeRequests(memNetwork(), gob.Codec{})
	require.NoError(t, err)
	payload := make([]byte, 100)
	require.NoError(t, Trips(e, payload, 100))
	samples, err := Latencies(e, payload, 20*time.Millisecond)
	require.NoError(t, err)
	require.NotEmpty(t, samples)
	require.NoError(t, e.Close())
	assert.Error(t, e.RoundTrip(payload), "a round trip after Close")
}

func TestValuesDeliverEveryPayload(t *testing.T) {
	for _, c := range []cluster.Codec{gob.Codec{}, msgpack.Codec{}} {
		t.Run(c.Name(), func(t *testing.T) {
			s, err := NodeValues(memNetwork(), c)
			require.NoError(t, err)
			payload := make([]byte, 100)
			require.NoError(t, Count(s, payload, 500))
			r, err := For(s, payload, 20*time.Millisecond)
			require.NoError(t, err)
			assert.Positive(t, r.Msgs)
			assert.Equal(t, r.Msgs*100, r.Bytes)
			require.NoError(t, s.Close())
		})
	}
}
