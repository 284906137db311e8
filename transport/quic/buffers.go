package quic

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
)

// wantBuffer is the size of each UDP socket buffer quic-go asks for (its
// desiredBufferSize, 7 MiB): less, and a burst of packets overflows the
// receive buffer before quic-go's goroutine reads it, or a sender waits
// for room. Linux caps both at about 208 KiB unless net.core.rmem_max and
// net.core.wmem_max are raised.
const wantBuffer = 7 << 20

// shortBuffer is a socket buffer the kernel kept under wantBuffer.
type shortBuffer struct {
	buffer string // "receive" or "send"
	got    int    // its size, as the kernel reports it
	sysctl string // the limit to raise, such as net.core.rmem_max
	limit  int    // the limit's value, or -1 if unknown
}

// bufferWarning makes a process say once that its buffers fall short: the
// limits are the system's, the same for every socket.
var bufferWarning sync.Once

// sizeBuffers grows udp's buffers to wantBuffer, as quic-go would try to,
// before quic-go gets the socket, and says once, through logger, which
// limits to raise if the kernel kept any smaller.
func sizeBuffers(udp *net.UDPConn, logger *slog.Logger) {
	if short := growBuffers(udp); len(short) > 0 {
		bufferWarning.Do(func() { warnBuffers(logger, short) })
	}
}

// warnBuffers logs what to raise for the buffers that fall short.
func warnBuffers(logger *slog.Logger, short []shortBuffer) {
	var cmd strings.Builder
	cmd.WriteString("sysctl -w")
	attrs := []any{"want", wantBuffer}
	for _, s := range short {
		fmt.Fprintf(&cmd, " %s=%d", s.sysctl, wantBuffer)
		attrs = append(attrs, s.buffer+"_buffer", s.got, s.sysctl, s.limit)
	}
	attrs = append(attrs, "fix", cmd.String())
	logger.Warn("quic: UDP socket buffers are smaller than quic-go wants, which limits throughput", attrs...)
}
