// Package tcp is the TCP transport: the wire cluster.New uses, with the
// settings New does not offer, TLS and keep-alives, as options.
//
//	node, err := cluster.NewNode(":7946", cluster.WithTransport(tcp.New(tcp.WithTLS(cfg))))
//
// # Slow links
//
// On Linux every connection sets TCP_NOTSENT_LOWAT to 64 KiB, one fragment
// of a large payload: the kernel then takes more from a writer only once
// less than that waits in its send buffer unsent, so a control frame, a
// small message or a goodbye queued behind a bulk transfer waits behind
// about one fragment in the kernel, as it does in the node, rather than
// behind megabytes. On macOS the connection sets the same option; other
// systems keep their kernel's default, and a small message may wait behind
// a whole send buffer there.
//
// Connections implement transport.Unacked (on Linux the socket's SIOCOUTQ,
// on macOS SO_NWRITE; elsewhere it reports errors.ErrUnsupported), so that a
// node tells a slow link, whose unacknowledged bytes fall, from a stalled
// one, and transport.HalfCloser, with or without TLS, so that a node's
// goodbye is followed by the end of its stream rather than a reset.
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
	lowat     int
}

// defaultLowat is the TCP_NOTSENT_LOWAT a connection gets: one fragment of
// a large payload (wire.MaxFragment).
const defaultLowat = 64 << 10

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

// WithUnsentLimit sets the most bytes a connection's kernel send buffer
// holds unsent before a write waits (TCP_NOTSENT_LOWAT, where the system has
// it): zero keeps the default of 64 KiB, and a negative value leaves the
// kernel's setting, which lets megabytes queue ahead of a small message. It
// is meant for measuring what the limit costs and buys, as
// cmd/peerweave-bench does.
func WithUnsentLimit(bytes int) Option { return func(c *config) { c.lowat = bytes } }

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
	if t.cfg.lowat == 0 {
		t.cfg.lowat = defaultLowat
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
	var l net.Listener = &listener{TCPListener: ln.(*net.TCPListener), lowat: t.cfg.lowat}
	if t.cfg.tls != nil {
		l = tlsListener{tls.NewListener(l, t.cfg.tls)}
	}
	return l, nil
}

// Dial connects to raddr ("host:port"), completing the TLS handshake if TLS is
// configured, within ctx.
func (t *Transport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: t.cfg.keepAlive}
	if t.cfg.tls == nil {
		c, err := d.DialContext(ctx, "tcp", raddr)
		if err != nil {
			return nil, err
		}
		return newConn(c.(*net.TCPConn), t.cfg.lowat), nil
	}
	td := tls.Dialer{NetDialer: &d, Config: t.cfg.tls}
	c, err := td.DialContext(ctx, "tcp", raddr)
	if err != nil {
		return nil, err
	}
	tc := c.(*tls.Conn)
	limitUnsent(tc.NetConn().(*net.TCPConn), t.cfg.lowat)
	return tlsConn{tc}, nil
}
