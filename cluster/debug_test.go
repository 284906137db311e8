package cluster_test

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
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
