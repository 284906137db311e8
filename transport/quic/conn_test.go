package quic_test

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/quic"
)

// Close returns before the peer has read anything, and still everything
// arrives: closing the QUIC connection at once would drop it.
func TestCloseDeliversBeforePeerReads(t *testing.T) {
	d, a := connect(t, quic.New(quic.Options{}), listen(t, quic.New(quic.Options{})))
	want := make([]byte, 256<<10)
	for i := range want {
		want[i] = byte(i * 7)
	}
	_, err := d.Write(want)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	a.SetReadDeadline(time.Now().Add(patience))
	got, err := io.ReadAll(a)
	require.NoError(t, err, "the read must end with io.EOF")
	assert.Equal(t, want, got)
}

// A node pings a healthy remote every 30 seconds and drops one silent for
// 40: QUIC must not close first.
func TestDefaultIdleTimeoutOutlastsHealthChecks(t *testing.T) {
	assert.Greater(t, quic.DefaultIdleTimeout, cluster.DefaultHealthyInterval+cluster.DefaultNetworkTimeout)
	assert.GreaterOrEqual(t, quic.DefaultHandshakeTimeout, cluster.DefaultNetworkTimeout)
}

func TestIdleTimeoutClosesSilentConnection(t *testing.T) {
	opts := quic.Options{IdleTimeout: 300 * time.Millisecond}
	_, a := connect(t, quic.New(opts), listen(t, quic.New(opts)))
	a.SetReadDeadline(time.Now().Add(patience))
	_, err := a.Read(make([]byte, 1))
	var idle *quicgo.IdleTimeoutError
	assert.ErrorAs(t, err, &idle)
}

func TestKeepAliveKeepsIdleConnection(t *testing.T) {
	opts := quic.Options{IdleTimeout: time.Second, KeepAlive: 100 * time.Millisecond}
	d, a := connect(t, quic.New(opts), listen(t, quic.New(opts)))
	a.SetReadDeadline(time.Now().Add(3 * opts.IdleTimeout))
	_, err := a.Read(make([]byte, 1))
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "want our deadline, not the idle timeout: %v", err)
	require.NoError(t, a.SetReadDeadline(time.Time{}))
	roundTrip(t, d, a)
}
