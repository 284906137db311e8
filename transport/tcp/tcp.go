// Package tcp is the TCP transport, the one cluster.New uses. Use it directly
// to configure what New does not: TLS, keep-alives, the dialler.
//
//	node, err := cluster.NewNode(":7946", cluster.WithTransport(tcp.New(tcp.Options{TLS: cfg})))
package tcp

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// Options configure a Transport. The zero value is plain TCP, as cluster.New
// uses.
type Options struct {
	// TLS, if set, wraps every connection in TLS with this configuration,
	// both as server (accepted connections) and client (dialled ones). For
	// mutual TLS set Certificates, ClientCAs with ClientAuth
	// tls.RequireAndVerifyClientCert, and RootCAs. Nodes dial each other by
	// IP, so peer certificates need IP SANs, or ServerName must be set.
	TLS *tls.Config

	// KeepAlive is the TCP keep-alive period; zero keeps the net package
	// default and a negative value turns keep-alives off. The node's own
	// health checks find dead peers either way.
	KeepAlive time.Duration
}

// Transport is a TCP transport. It is safe for use by several nodes.
type Transport struct {
	opts Options
}

// New returns a TCP transport configured by opts.
func New(opts Options) *Transport { return &Transport{opts: opts} }

// Listen listens on laddr ("host:port").
func (t *Transport) Listen(laddr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: t.opts.KeepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", laddr)
	if err != nil {
		return nil, err
	}
	if t.opts.TLS != nil {
		ln = tls.NewListener(ln, t.opts.TLS)
	}
	return ln, nil
}

// Dial connects to raddr ("host:port"), completing the TLS handshake if TLS is
// configured, within ctx.
func (t *Transport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: t.opts.KeepAlive}
	if t.opts.TLS == nil {
		return d.DialContext(ctx, "tcp", raddr)
	}
	td := tls.Dialer{NetDialer: &d, Config: t.opts.TLS}
	return td.DialContext(ctx, "tcp", raddr)
}
