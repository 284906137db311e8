package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/quic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func memNetwork() func() cluster.Transport {
	nw := mem.NewNetwork()
	return func() cluster.Transport { return nw }
}

// quicNetwork gives each node a QUIC transport of its own.
func quicNetwork() cluster.Transport { return quic.New() }

func TestStreamsDeliverEveryPayload(t *testing.T) {
	for name, open := range map[string]func() (Stream, error){
		"raw buffered":   func() (Stream, error) { return RawStream(false) },
		"raw flush each": func() (Stream, error) { return RawStream(true) },
		"nodes":          func() (Stream, error) { return NodeStream(memNetwork(), gob.Codec{}) },
		"raw quic":       RawQUICStream,
		"nodes on quic":  func() (Stream, error) { return NodeStream(quicNetwork, gob.Codec{}) },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := open()
			require.NoError(t, err)
			payload := make([]byte, 100)
			require.NoError(t, Count(s, payload, 1000))
			r, err := For(s, payload, 20*time.Millisecond)
			require.NoError(t, err)
			assert.Positive(t, r.Msgs)
			assert.Zero(t, r.Msgs%checkEvery, "For sends whole batches")
			assert.Equal(t, r.Msgs*100, r.Bytes)
			assert.GreaterOrEqual(t, r.Elapsed, 20*time.Millisecond)
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "a second Close")
		})
	}
}

func TestEchoesReturnEveryPayload(t *testing.T) {
	for name, open := range map[string]func() (Echo, error){
		"raw":   RawEcho,
		"nodes": func() (Echo, error) { return NodeEcho(memNetwork(), gob.Codec{}) },
	} {
		t.Run(name, func(t *testing.T) {
			e, err := open()
			require.NoError(t, err)
			payload := make([]byte, 100)
			require.NoError(t, Trips(e, payload, 100))
			samples, err := Latencies(e, payload, 20*time.Millisecond)
			require.NoError(t, err)
			require.NotEmpty(t, samples)
			for _, d := range samples {
				assert.Positive(t, d)
			}
			require.NoError(t, e.Close())
			assert.Error(t, e.RoundTrip(payload), "a round trip after Close")
		})
	}
}

func TestDrainReportsAReceiverThatStopped(t *testing.T) {
	s, err := RawStream(false)
	require.NoError(t, err)
	defer s.Close()
	payload := make([]byte, 100)
	require.NoError(t, Count(s, payload, 10))
	s.(*rawStream).server.Close()
	for range 10 {
		s.Send(payload)
	}
	assert.Error(t, s.Drain())
}

func TestAwaitChecksTheBytesReceived(t *testing.T) {
	c := newCounter()
	c.add(3)
	c.add(3)
	require.NoError(t, c.await(2, 6))
	assert.ErrorContains(t, c.await(2, 7), "read 6 payload bytes, 7 were sent")
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 1; i <= 200; i++ {
		samples = append(samples, time.Duration(i))
	}
	assert.Equal(t, time.Duration(100), Percentile(samples, 50))
	assert.Equal(t, time.Duration(198), Percentile(samples, 99))
	assert.Equal(t, time.Duration(200), Percentile(samples, 100))
	assert.Equal(t, time.Duration(7), Percentile([]time.Duration{7}, 99))
	assert.Zero(t, Percentile(nil, 50))
}

func TestSizeName(t *testing.T) {
	assert.Equal(t, "64B", SizeName(64))
	assert.Equal(t, "1KiB", SizeName(1024))
	assert.Equal(t, "1500B", SizeName(1500))
	assert.Equal(t, "64KiB", SizeName(64<<10))
	assert.Equal(t, "2MiB", SizeName(2<<20))
}
