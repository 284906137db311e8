package cluster_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/tcp"
)

// TestSetDebugLogsToStderr swaps os.Stderr, so it does not run in parallel.
func TestSetDebugLogsToStderr(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	a, errA := cluster.New("127.0.0.1:0")
	b, errB := cluster.New("127.0.0.1:0")
	c, errC := cluster.New("127.0.0.1:0")
	d, errD := cluster.NewNode("127.0.0.1:0", cluster.WithDebug())
	os.Stderr = stderr
	require.NoError(t, errA)
	require.NoError(t, errB)
	require.NoError(t, errC)
	require.NoError(t, errD)
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, r)
		close(copied)
	}()

	// Quiet by default...
	require.NoError(t, b.Add(a.String()))
	waitRemotes(t, a, b)
	// ...chatty once asked.
	a.SetDebug(true)
	require.NoError(t, c.Add(a.String()))
	waitRemotes(t, a, b, c)
	a.SetDebug(false)
	b.Close()
	waitRemotes(t, a, c)
	// Chatty from the start with WithDebug.
	require.NoError(t, d.Add(c.String()))
	waitRemotes(t, d, a, c)
	for _, n := range []*cluster.Node{a, b, c, d} {
		n.Close()
	}
	w.Close()
	<-copied
	logs := out.String()
	t.Log(logs)
	assert.Contains(t, logs, "level=DEBUG")
	assert.Contains(t, logs, "remote added")
	assert.Contains(t, logs, "remote="+c.String())
	assert.NotContains(t, logs, "remote="+b.String(), "b came and went while debug was off")
	assert.Regexp(t, `level=DEBUG msg="remote added" node=`+regexp.QuoteMeta(d.String()+" remote="+c.String()), logs)
}

func TestDefaultAndConfiguredStacksInteroperate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stacks[0])
	a, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	b := h.node()
	require.NoError(t, b.Add(a.String()))
	require.NoError(t, a.Send(remote(b), []byte("default to configured")))
	assert.Equal(t, "default to configured", string(receive(t, b).Payload))
}

func TestNewNodeRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]cluster.Option{
		"nil transport":      cluster.WithTransport(nil),
		"nil codec":          cluster.WithCodec(nil),
		"zero message size":  cluster.WithMaxMessageSize(0),
		"negative inbox":     cluster.WithInboxSize(-1),
		"zero send queue":    cluster.WithSendQueueSize(0),
		"zero healthy":       cluster.WithHealthyInterval(0),
		"negative healthy":   cluster.WithHealthyInterval(-time.Second),
		"zero timeout":       cluster.WithNetworkTimeout(0),
		"negative timeout":   cluster.WithNetworkTimeout(-time.Second),
		"zero reconnect":     cluster.WithReconnectInterval(0),
		"negative reconnect": cluster.WithReconnectInterval(-time.Second),
		"window too small":   cluster.WithReceiveWindow(1000),
		"negative window":    cluster.WithReceiveWindow(-1),
	} {
		_, err := cluster.NewNode("127.0.0.1:0", opt)
		assert.Error(t, err, name)
	}
}

// TestDefaultLoggerWarnsOfWhatUsersMustKnow: the default logger, on stderr,
// writes the warnings it always wrote, now that it hears of them as events.
// It swaps os.Stderr, so it does not run in parallel.
func TestDefaultLoggerWarnsOfWhatUsersMustKnow(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	faults := fault.NewNetwork()
	ev := newEvents()
	a, errA := cluster.NewNode("127.0.0.1:0", append(clustertest.Fast(), cluster.WithTransport(faults.Wrap(tcp.New())), ev.Option())...)
	os.Stderr = stderr
	require.NoError(t, errA)
	b, err := cluster.NewNode("127.0.0.1:0", append(clustertest.Fast(), cluster.WithLogger(slog.New(slog.DiscardHandler)))...)
	require.NoError(t, err)
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, r)
		close(copied)
	}()

	require.NoError(t, a.Add(b.String()))
	faults.Break(a.String(), b.String())
	ev.WaitRemoved(t, b)
	garbage, err := net.Dial("tcp", a.String())
	require.NoError(t, err)
	garbage.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	ev.Wait(t, "a bad handshake", caused(is(cluster.EventHandshakeFailed, nil), cluster.ErrProtocol))
	garbage.Close()
	a.Close()
	b.Close()
	w.Close()
	<-copied
	logs := out.String()
	t.Log(logs)
	assert.Regexp(t, `level=WARN msg="remote lost" node=`+regexp.QuoteMeta(a.String()+" remote="+b.String())+` err=\S.* discarded=0`, logs)
	assert.Regexp(t, `level=WARN msg="dropping connection: bad handshake" node=`+regexp.QuoteMeta(a.String())+` from=127.0.0.1:\d+ err=`, logs)
	assert.NotContains(t, logs, "level=DEBUG")
}
