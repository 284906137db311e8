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
	d, a := connect(t, quic.New(), listen(t, quic.New()))
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
	opt := quic.WithIdleTimeout(300 * time.Millisecond)
	_, a := connect(t, quic.New(opt), listen(t, quic.New(opt)))
	a.SetReadDeadline(time.Now().Add(patience))
	_, err := a.Read(make([]byte, 1))
	var idle *quicgo.IdleTimeoutError
	assert.ErrorAs(t, err, &idle)
}

func TestKeepAliveKeepsIdleConnection(t *testing.T) {
	const idle = time.Second
	opts := []quic.Option{quic.WithIdleTimeout(idle), quic.WithKeepAlive(100 * time.Millisecond)}
	d, a := connect(t, quic.New(opts...), listen(t, quic.New(opts...)))
	a.SetReadDeadline(time.Now().Add(3 * idle))
	_, err := a.Read(make([]byte, 1))
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "want our deadline, not the idle timeout: %v", err)
	require.NoError(t, a.SetReadDeadline(time.Time{}))
	roundTrip(t, d, a)
}
