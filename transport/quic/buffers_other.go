//go:build !linux

package quic

import "net"

// growBuffers leaves the buffers to quic-go, which sizes them and warns
// itself where it cannot; only Linux's limits are known here.
func growBuffers(*net.UDPConn) []shortBuffer { return nil }
