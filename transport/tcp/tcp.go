// Package tcp is the TCP transport: the wire cluster.New uses, with the
// settings New does not offer, TLS and keep-alives, as options.
//
//	node, err := cluster.NewNode(":7946", cluster.WithTransport(tcp.New(tcp.WithTLS(cfg))))
package tcp

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// An Option configures a Transport made by New.
type Option func(*config)

type config struct {
	tls       *tls.Config
	keepAlive time.Duration
}

// WithTLS, if cfg is not nil, wraps every connection in TLS with this
// configuration, both as server (accepted connections) and client (dialled
// ones). For mutual TLS set Certificates, ClientCAs with ClientAuth
// tls.RequireAndVerifyClientCert, and RootCAs. Nodes dial each other by IP,
// so peer certificates need IP SANs, or ServerName must be set.
func WithTLS(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// WithKeepAlive sets the TCP keep-alive period; zero keeps the net package
// default and a negative value turns keep-alives off. The node's own health
// checks find dead peers either way.
func WithKeepAlive(d time.Duration) Option { return func(c *config) { c.keepAlive = d } }

// Transport is a TCP transport. It is safe for use by several nodes.
type Transport struct {
	cfg config
}

// New returns a TCP transport configured by opts. Without options it is
// plain TCP, as cluster.New uses.
func New(opts ...Option) *Transport {
	t := &Transport{}
	for _, o := range opts {
		o(&t.cfg)
	}
	return t
}

// Listen listens on laddr ("host:port").
func (t *Transport) Listen(laddr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: t.cfg.keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", laddr)
	if err != nil {
		return nil, err
	}
	if t.cfg.tls != nil {
		ln = tls.NewListener(ln, t.cfg.tls)
	}
	return ln, nil
}

// Dial connects to raddr ("host:port"), completing the TLS handshake if TLS is
// configured, within ctx.
func (t *Transport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: t.cfg.keepAlive}
	if t.cfg.tls == nil {
		return d.DialContext(ctx, "tcp", raddr)
	}
	td := tls.Dialer{NetDialer: &d, Config: t.cfg.tls}
	return td.DialContext(ctx, "tcp", raddr)
}
