package quic

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// growBuffers reports a buffer as short exactly when the kernel kept it
// under what quic-go wants, with the limit to raise; where the limit lets
// the buffer grow (Linux doubles what it is asked for), it does.
func TestGrowBuffersReportsWhatTheKernelKept(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer udp.Close()
	short := growBuffers(udp)
	raw, err := udp.SyscallConn()
	require.NoError(t, err)
	for _, b := range []struct {
		name, sysctl, file string
		opt                int
	}{
		{"receive", "net.core.rmem_max", "/proc/sys/net/core/rmem_max", syscall.SO_RCVBUF},
		{"send", "net.core.wmem_max", "/proc/sys/net/core/wmem_max", syscall.SO_SNDBUF},
	} {
		got := sockopt(raw, b.opt)
		limit := readLimit(b.file)
		want := shortBuffer{buffer: b.name, got: got, sysctl: b.sysctl, limit: limit}
		if got >= wantBuffer {
			assert.NotContains(t, short, want, b.name)
			continue
		}
		assert.Contains(t, short, want, b.name)
		if limit >= 0 {
			assert.Less(t, 2*limit, wantBuffer, "%s: the limit lets the buffer grow", b.name)
		}
	}
}
