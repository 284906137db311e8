package quic

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// growBuffers asks for wantBuffer bytes of each of udp's buffers, first
// within the system's limits, then, as a process with CAP_NET_ADMIN may,
// past them, and returns those the kernel kept smaller. Linux reports
// twice the size asked for, its bookkeeping included, and quic-go compares
// that report with what it wants; so does this.
func growBuffers(udp *net.UDPConn) []shortBuffer {
	raw, err := udp.SyscallConn()
	if err != nil {
		return nil // a closed socket: quic-go will say so
	}
	var short []shortBuffer
	for _, b := range []struct {
		name               string
		set                func(int) error
		opt, force         int
		sysctl, limitsFile string
	}{
		{"receive", udp.SetReadBuffer, syscall.SO_RCVBUF, syscall.SO_RCVBUFFORCE, "net.core.rmem_max", "/proc/sys/net/core/rmem_max"},
		{"send", udp.SetWriteBuffer, syscall.SO_SNDBUF, syscall.SO_SNDBUFFORCE, "net.core.wmem_max", "/proc/sys/net/core/wmem_max"},
	} {
		b.set(wantBuffer)
		got := sockopt(raw, b.opt)
		if got < wantBuffer {
			raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, b.force, wantBuffer) })
			got = sockopt(raw, b.opt)
		}
		if got < wantBuffer {
			short = append(short, shortBuffer{buffer: b.name, got: got, sysctl: b.sysctl, limit: readLimit(b.limitsFile)})
		}
	}
	return short
}

// sockopt returns a socket option's value, or 0 if it cannot be read.
func sockopt(raw syscall.RawConn, opt int) int {
	var v int
	raw.Control(func(fd uintptr) {
		v, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt)
	})
	return v
}

// readLimit returns the number in a /proc/sys file, or -1.
func readLimit(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}
