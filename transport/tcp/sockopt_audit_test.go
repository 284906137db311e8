//go:build linux

package tcp_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport/tcp"
)

// tcpNotSentLowat is Linux's TCP_NOTSENT_LOWAT, which package syscall
// does not name.
const tcpNotSentLowat = 0x19

func getsockoptInt(fd uintptr, level, opt int) (int, error) {
	return syscall.GetsockoptInt(int(fd), level, opt)
}

// On Linux every connection, dialled and accepted, sets TCP_NOTSENT_LOWAT
// to 64 KiB; WithUnsentLimit sets another, and a negative one leaves the
// kernel's setting: the socket's option unset (0) or the sysctl
// net.ipv4.tcp_notsent_lowat, which an unset option follows.
func TestAuditEveryConnectionLimitsWhatWaitsUnsent(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("/proc/sys/net/ipv4/tcp_notsent_lowat")
	require.NoError(t, err)
	kernel, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 32)
	require.NoError(t, err)
	for _, c := range []struct {
		opts []tcp.Option
		want uint32
	}{
		{nil, 64 << 10},
		{[]tcp.Option{tcp.WithUnsentLimit(0)}, 64 << 10},
		{[]tcp.Option{tcp.WithUnsentLimit(16 << 10)}, 16 << 10},
		{[]tcp.Option{tcp.WithUnsentLimit(-1)}, 0},
	} {
		tr := tcp.New(c.opts...)
		d, acc := auditPair(t, tr, tr)
		for end, conn := range map[string]net.Conn{"dialled": d, "accepted": acc} {
			got := uint32(sockopt(t, conn, syscall.IPPROTO_TCP, tcpNotSentLowat))
			if c.want == 0 && got == uint32(kernel) {
				continue
			}
			assert.Equal(t, c.want, got, "%s end of %d options", end, len(c.opts))
		}
	}
}

// WithKeepAlive sets the keep-alive period; zero keeps the net package's
// default (on) and a negative value turns keep-alives off.
func TestAuditWithKeepAliveSetsThePeriodOrTurnsItOff(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		on   bool
		idle int // seconds, if not zero
	}{{0, true, 0}, {37 * time.Second, true, 37}, {-1, false, 0}} {
		tr := tcp.New(tcp.WithKeepAlive(c.d))
		d, acc := auditPair(t, tr, tr)
		for end, conn := range map[string]net.Conn{"dialled": d, "accepted": acc} {
			on := sockopt(t, conn, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) != 0
			assert.Equal(t, c.on, on, "%s end, WithKeepAlive(%v)", end, c.d)
			if c.idle != 0 {
				assert.Equal(t, c.idle, sockopt(t, conn, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE), "%s end, WithKeepAlive(%v)", end, c.d)
			}
		}
	}
}

// sockopt reads an integer socket option of c, a plain TCP connection.
func sockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	require.True(t, ok, "%T has no socket", c)
	rc, err := sc.SyscallConn()
	require.NoError(t, err)
	var v int
	var gerr error
	require.NoError(t, rc.Control(func(fd uintptr) { v, gerr = getsockoptInt(fd, level, opt) }))
	require.NoError(t, gerr)
	return v
}
