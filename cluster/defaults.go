package cluster

import (
	"context"
	"net"
)

// tcpTransport is the transport New uses: plain TCP from the net package. The
// transport/tcp package offers the same wire with options such as TLS.
type tcpTransport struct{}

func (tcpTransport) Listen(laddr string) (net.Listener, error) { return net.Listen("tcp", laddr) }

func (tcpTransport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", raddr)
}
