package tcp_test

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/tcp"
	"github.com/peerweave/peerweave/transport/transporttest"
)

// pair returns a dialled and an accepted connection of tr, with their TLS
// handshakes done if they have one.
func pair(t *testing.T, tr transport.Transport) (dialled, accepted net.Conn) {
	t.Helper()
	return auditPair(t, tr, tr)
}

// transports are the configurations whose connections must half-close and
// count unacknowledged bytes.
func transports(t *testing.T) map[string]transport.Transport {
	ca := transporttest.NewCA(t)
	return map[string]transport.Transport{
		"plain":     tcp.New(),
		"TLS":       tcp.New(tcp.WithTLS(ca.Config(t))),
		"no limit":  tcp.New(tcp.WithUnsentLimit(-1)),
		"TLS limit": tcp.New(tcp.WithTLS(ca.Config(t)), tcp.WithUnsentLimit(16<<10)),
	}
}

func TestHalfCloseDeliversEverythingThenEndOfStream(t *testing.T) {
	t.Parallel()
	for name, tr := range transports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := pair(t, tr)
			hc, ok := a.(transport.HalfCloser)
			require.True(t, ok, "%T is no HalfCloser", a)
			_, err := a.Write([]byte("bye"))
			require.NoError(t, err)
			require.NoError(t, hc.CloseWrite())
			got, err := io.ReadAll(b)
			require.NoError(t, err)
			assert.Equal(t, "bye", string(got), "everything, then the end of the stream")

			_, err = b.Write([]byte("still open"))
			require.NoError(t, err, "the other side can still send")
			buf := make([]byte, 10)
			_, err = io.ReadFull(a, buf)
			require.NoError(t, err)
			assert.Equal(t, "still open", string(buf))
		})
	}
}

func TestUnackedCountsWhatTheReaderHasNotTaken(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skipf("no send queue size on %s", runtime.GOOS)
	}
	for name, tr := range transports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := pair(t, tr)
			u, ok := a.(transport.Unacked)
			require.True(t, ok, "%T is no Unacked", a)
			// A writer that the reader does not keep up with fills
			// the reader's receive buffer, then its own send queue.
			written := make(chan error, 1)
			go func() {
				_, err := a.Write(make([]byte, 32<<20))
				written <- err
			}()
			require.Eventually(t, func() bool {
				n, err := u.Unacked()
				return err == nil && n > 0
			}, waitFor, time.Millisecond, "a backlog in the send queue")
			go io.Copy(io.Discard, b)
			require.NoError(t, <-written)
			require.Eventually(t, func() bool {
				n, err := u.Unacked()
				return err == nil && n == 0
			}, waitFor, time.Millisecond, "the reader took everything")
		})
	}
}
