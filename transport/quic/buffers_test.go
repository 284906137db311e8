package quic

import (
	"bytes"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBufferWarningSaysWhatToRaise(t *testing.T) {
	var out bytes.Buffer
	warnBuffers(slog.New(slog.NewTextHandler(&out, nil)), []shortBuffer{
		{buffer: "receive", got: 425984, sysctl: "net.core.rmem_max", limit: 212992},
		{buffer: "send", got: 425984, sysctl: "net.core.wmem_max", limit: 212992},
	})
	line := out.String()
	assert.Contains(t, line, "level=WARN")
	assert.Contains(t, line, `fix="sysctl -w net.core.rmem_max=7340032 net.core.wmem_max=7340032"`)
	assert.Contains(t, line, "receive_buffer=425984 net.core.rmem_max=212992")
	assert.Contains(t, line, "send_buffer=425984 net.core.wmem_max=212992")
	assert.Equal(t, 1, bytes.Count(out.Bytes(), []byte("\n")), "one line")
}

func TestBufferWarningNamesOnlyWhatFallsShort(t *testing.T) {
	var out bytes.Buffer
	warnBuffers(slog.New(slog.NewTextHandler(&out, nil)), []shortBuffer{
		{buffer: "send", got: 425984, sysctl: "net.core.wmem_max", limit: -1},
	})
	assert.Contains(t, out.String(), `fix="sysctl -w net.core.wmem_max=7340032"`)
	assert.NotContains(t, out.String(), "rmem")
}

// quic-go gets the *net.UDPConn itself: through a wrapper it would read
// one packet per system call and give up GSO, ECN and buffer sizing.
func TestQuicGoGetsTheBareSocket(t *testing.T) {
	tr := New()
	ln, err := tr.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	assert.IsType(t, &net.UDPConn{}, tr.ep.qt.Conn)
}
