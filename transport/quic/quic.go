// Package quic is a QUIC transport for cluster nodes, on quic-go. Each pair
// of nodes talks over one QUIC connection that carries one bidirectional
// stream, and each Transport sends and receives on one UDP socket: the one
// its node listens on.
//
//	node, err := cluster.NewNode("127.0.0.1:7946", cluster.WithTransport(quic.New()))
//
// # Security
//
// QUIC always encrypts, with TLS 1.3. Without WithTLS a transport makes
// itself a fresh self-signed certificate and accepts every peer without
// verifying it: traffic is encrypted, but no node is authenticated, so
// anyone who reaches the port can join and an attacker on the path can
// intercept. To authenticate both ends, pass WithTLS a mutual-TLS
// configuration with certificates from a CA that all nodes trust.
//
// # One node per Transport
//
// A Transport listens once, and dials from its listening socket, so that
// peers see a node's connections come from its listening address. A node
// listening on 127.0.0.1 therefore reaches only loopback addresses; listen
// on the wildcard address or a routable one to reach other hosts. A
// Transport that dials with no socket open (before it listens, say) opens
// one on a free port. A socket closes once its listener and every
// connection on it are closed.
//
// # Dialling
//
// UDP has no refusal: a Dial to an address where nothing listens fails only
// when its context ends, where TCP would be refused at once. So a node's
// Add of a dead address takes the node's network timeout. Dial returns once
// the remote listener has set the connection up, a round trip after the
// QUIC handshake.
//
// # Closing
//
// QUIC drops unacknowledged stream data when a connection closes, and
// quic-go cannot tell when the peer has acknowledged a stream's end. So a
// connection's Close ends its stream at once and returns; in the
// background, the QUIC connection closes only when both ends have
// everything: the peer has said it read to the end of our stream, and we
// have read to the end of its stream (discarding what nobody will read).
// A peer that has not read to our end of stream and closed its own within
// the linger time (WithLinger) has the connection aborted: it sees an
// error rather than io.EOF, and loses what it had not read. A node reads
// to the end and closes when its remote leaves, so this happens only to
// stalled peers. The socket, and a goroutine per closing connection, can
// therefore outlive a node's Close by up to the linger time.
//
// # Throughput and UDP buffers
//
// quic-go wants 7 MiB UDP receive and send buffers, so that bursts are
// not dropped before its goroutine reads them; Linux caps them at about
// 208 KiB by default. A transport asks for the 7 MiB when it opens a
// socket (past the limits where the process has CAP_NET_ADMIN) and, if the
// kernel keeps them smaller, logs once per process what to raise:
//
//	sysctl -w net.core.rmem_max=7340032 net.core.wmem_max=7340032
//
// quic-go prints a warning of its own too, through the log package, unless
// QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING=true is set in the environment.
//
// On one machine's loopback interface a node over QUIC moves 1 KiB
// messages at a fraction of a raw quic-go stream's rate, and both at a
// fraction of TCP's: QUIC encrypts, paces and acknowledges every packet in
// user space. cmd/peerweave-bench's quic section measures both ratios.
package quic

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/peerweave/peerweave/internal/addr"
)

// Protocol is the ALPN protocol name the transport negotiates in TLS.
const Protocol = "peerweave/1"

// Defaults of the options.
const (
	// DefaultHandshakeTimeout bounds an incoming connection's setup. It is
	// the node's default network timeout.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultIdleTimeout is well above the 40 seconds a node lets a healthy
	// remote stay silent (the healthy interval plus the network timeout).
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultLinger bounds the delivery of what a closed connection still
	// has to send. It is the node's default network timeout.
	DefaultLinger = 10 * time.Second
)

// An Option configures a Transport made by New.
type Option func(*config)

type config struct {
	tls              *tls.Config
	handshakeTimeout time.Duration
	idleTimeout      time.Duration
	keepAlive        time.Duration
	linger           time.Duration
	logger           *slog.Logger
}

// WithTLS, if cfg is not nil, configures both sides of every connection:
// accepted ones as server, dialled ones as client. For mutual TLS set
// Certificates, RootCAs, ClientCAs, and ClientAuth to
// tls.RequireAndVerifyClientCert. Nodes dial each other by IP, so
// certificates need IP SANs, or ServerName must be set. NextProtos is
// replaced by Protocol, and QUIC requires TLS 1.3.
func WithTLS(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// WithHandshakeTimeout bounds how long an incoming connection may take to
// complete the QUIC handshake, and then again to open its stream. Zero
// means DefaultHandshakeTimeout. A Dial is bounded by its context.
func WithHandshakeTimeout(d time.Duration) Option { return func(c *config) { c.handshakeTimeout = d } }

// WithIdleTimeout closes a connection that has received nothing for d; the
// shorter of the two ends' values applies. Zero means DefaultIdleTimeout.
// It must exceed the node's healthy interval plus its network timeout, or
// QUIC closes connections the node still considers healthy.
func WithIdleTimeout(d time.Duration) Option { return func(c *config) { c.idleTimeout = d } }

// WithKeepAlive, if d is positive, makes a connection send a QUIC PING that
// often when it has nothing else to send, to keep NAT bindings open. Zero,
// the default, sends none: the node's health checks are traffic enough.
func WithKeepAlive(d time.Duration) Option { return func(c *config) { c.keepAlive = d } }

// WithLinger bounds how long a closed connection keeps trying to deliver
// what it had sent, and to read the peer's end of stream, before it gives
// up and aborts. Zero means DefaultLinger.
func WithLinger(d time.Duration) Option { return func(c *config) { c.linger = d } }

// WithLogger sets where the transport logs; nil, the default, means
// slog.Default(). It logs one warning per process, when it opens its first
// socket, if the system keeps UDP socket buffers smaller than quic-go
// wants, saying which limits to raise; see the package doc.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Transport is a QUIC transport for one node. Make one per node with New.
type Transport struct {
	cfg config

	tlsOnce        sync.Once
	server, client *tls.Config
	tlsErr         error

	mu        sync.Mutex // guards the fields below and every endpoint's refs
	ep        *endpoint  // the socket Dial uses, if any
	listening bool
}

// New returns a transport configured by opts. Without options it is a
// working transport with a self-signed certificate that trusts every peer.
func New(opts ...Option) *Transport {
	t := &Transport{}
	for _, o := range opts {
		o(&t.cfg)
	}
	if t.cfg.handshakeTimeout <= 0 {
		t.cfg.handshakeTimeout = DefaultHandshakeTimeout
	}
	if t.cfg.idleTimeout <= 0 {
		t.cfg.idleTimeout = DefaultIdleTimeout
	}
	if t.cfg.linger <= 0 {
		t.cfg.linger = DefaultLinger
	}
	return t
}

// Listen listens on laddr ("ip:port"; port 0 picks a free port). A Transport
// has one listener at a time.
func (t *Transport) Listen(laddr string) (net.Listener, error) {
	server, _, err := t.tlsConfigs()
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("quic: listen on %s: %w", laddr, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.listening {
		return nil, fmt.Errorf("quic: listen on %s: transport already listening", laddr)
	}
	ep, err := t.newEndpoint(ua)
	if err != nil {
		return nil, fmt.Errorf("quic: listen on %s: %w", laddr, err)
	}
	ql, err := ep.qt.Listen(server, t.config(t.cfg.handshakeTimeout/2))
	if err != nil {
		ep.close()
		return nil, fmt.Errorf("quic: listen on %s: %w", laddr, err)
	}
	ep.refs++
	t.ep, t.listening = ep, true
	return newListener(t, ep, ql), nil
}

// Dial connects to the node listening on raddr ("host:port", with a port
// number; a host name is looked up, and an empty host is 127.0.0.1), and
// returns once the node's listener has the connection. ctx bounds the whole
// attempt, the QUIC handshake included. A listener whose queue is full
// refuses connections; Dial then tries again until ctx ends, as TCP resends
// a SYN that a full backlog dropped.
func (t *Transport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	_, client, err := t.tlsConfigs()
	if err != nil {
		return nil, err
	}
	ap, err := addr.Resolve(ctx, nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("quic: dial %s: %w", raddr, err)
	}
	ua := net.UDPAddrFromAddrPort(ap)
	ep, err := t.dialEndpoint()
	if err != nil {
		return nil, fmt.Errorf("quic: dial %s: %w", raddr, err)
	}
	for backoff := retryMin; ; backoff = min(2*backoff, retryMax) {
		c, err := t.dialOnce(ctx, ep, ua, client)
		if err == nil {
			return c, nil
		}
		if !isRefused(err) || !sleep(ctx, backoff) {
			ep.release()
			return nil, fmt.Errorf("quic: dial %s: %w", raddr, err)
		}
	}
}

// Waits between attempts to dial a listener that refused.
const (
	retryMin = 20 * time.Millisecond
	retryMax = time.Second
)

// dialOnce makes one attempt at a connection from ep. The conn it returns
// owns the caller's reference to ep.
func (t *Transport) dialOnce(ctx context.Context, ep *endpoint, ua *net.UDPAddr, client *tls.Config) (*conn, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	// The handshake's own timeout must not cut the context short.
	idle := t.cfg.handshakeTimeout / 2
	if d, ok := ctx.Deadline(); ok {
		idle = max(time.Until(d), time.Millisecond)
	}
	qc, err := ep.qt.Dial(ctx, ua, client, t.config(idle))
	if err != nil {
		return nil, err
	}
	st, err := qc.OpenStream()
	if err == nil {
		// The stream reaches the acceptor with its first byte, and the
		// acceptor answers once it has set the connection up.
		_, err = st.Write([]byte{streamHeader})
	}
	if err == nil {
		err = readHeader(ctx, st)
	}
	if err != nil {
		qc.CloseWithError(codeAbort, "")
		return nil, err
	}
	return newConn(qc, st, ep, t.cfg.linger), nil
}

// isRefused reports whether err is a listener's refusal of a connection.
func isRefused(err error) bool {
	var te *quicgo.TransportError
	return errors.As(err, &te) && te.Remote && te.ErrorCode == quicgo.ConnectionRefused
}

// sleep waits for d, and reports false if ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// readHeader reads the stream's first byte, within ctx, and checks it.
func readHeader(ctx context.Context, st *quicgo.Stream) error {
	if d, ok := ctx.Deadline(); ok {
		st.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { st.SetReadDeadline(time.Unix(1, 0)) })
	var h [1]byte
	_, err := io.ReadFull(st, h[:])
	if !stop() || ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err != nil {
		return err
	}
	if h[0] != streamHeader {
		return fmt.Errorf("stream starts with %#x, not %#x", h[0], streamHeader)
	}
	st.SetReadDeadline(time.Time{})
	return nil
}

// streamHeader is the first byte on every connection's stream.
const streamHeader = 0x70

// Application error codes a connection closes with.
const (
	codeDone  quicgo.ApplicationErrorCode = 0 // both ends have everything
	codeAbort quicgo.ApplicationErrorCode = 1 // closed before delivering everything
)

// logger returns the transport's logger.
func (t *Transport) logger() *slog.Logger {
	if t.cfg.logger != nil {
		return t.cfg.logger
	}
	return slog.Default()
}

// config returns the QUIC configuration of a connection whose handshake may
// be idle for handshakeIdle (and last twice that).
func (t *Transport) config(handshakeIdle time.Duration) *quicgo.Config {
	return &quicgo.Config{
		HandshakeIdleTimeout:  handshakeIdle,
		MaxIdleTimeout:        t.cfg.idleTimeout,
		KeepAlivePeriod:       t.cfg.keepAlive,
		MaxIncomingStreams:    1, // the connection's stream
		MaxIncomingUniStreams: 1, // the acknowledgement of our end of stream
	}
}
