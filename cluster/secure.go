package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/peerweave/peerweave/internal/selfsigned"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport"
)

// A node with a secret runs TLS 1.3 on every connection, whatever the
// transport, before it sends a byte of its own: the preamble, the proofs of
// the secret, the hellos and everything after travel inside it. TLS gives
// encryption, integrity and forward secrecy ((EC)DHE); trust comes from the
// secret alone. Each node makes a self-signed certificate at NewNode that
// nobody checks, and each side proves the secret over the session's exported
// keying material (wire.Prove), so that a proof made on one TLS session is
// worthless on any other: a relay that terminates TLS on both sides, or a
// stranger handing a node's own proof back to it, gets nowhere.
//
// A transport that is already TLS (tcp.WithTLS, quic) is wrapped again: the
// inner session is ours, with the properties above whatever the outer one's
// configuration, at the cost of encrypting twice.

// newSecureConfig returns the TLS configuration of a node with a secret: an
// ephemeral ed25519 certificate, TLS 1.3 only, no session resumption, and
// full-sized records from the start (a node's connections are long-lived
// streams, not web pages waiting for their first bytes).
func newSecureConfig() (*tls.Config, error) {
	cert, err := selfsigned.Certificate()
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MinVersion:             tls.VersionTLS13,
		InsecureSkipVerify:     true, // trust comes from the proofs of the secret
		SessionTicketsDisabled: true,

		DynamicRecordSizingDisabled: true,
	}, nil
}

// secure runs the TLS handshake over conn when the node has a secret, as the
// client if dialled, until ctx ends and within the network timeout if
// dialled, the caller's deadline if not (the handshake timeout, gate.go),
// and returns the connection to speak the protocol over: conn itself
// without a secret. A handshake that fails for anything but the
// connection's end or a timeout is an authentication failure (ErrAuth):
// bytes altered on the way, or a peer without the secret.
func (n *Node) secure(ctx context.Context, conn net.Conn, dialled bool) (net.Conn, error) {
	if n.tls == nil {
		return conn, nil
	}
	var c *tls.Conn
	if dialled {
		c = tls.Client(conn, n.tls)
	} else {
		c = tls.Server(conn, n.tls)
	}
	if dialled {
		conn.SetDeadline(time.Now().Add(n.networkTimeout()))
	}
	stop := afterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	err := c.Handshake()
	stop()
	if err == nil {
		return secureConn{c}, nil
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && bytes.HasPrefix(rh.RecordHeader[:], n.preamble[:3]) {
		// A node without a secret: tell it, in the only words it reads
		// before a preamble (see refuseTLS).
		if !dialled {
			conn.Write(tlsRefusal)
		}
		return nil, fmt.Errorf("%w: the peer has no shared secret", ErrAuth)
	}
	if tampered(err) {
		return nil, fmt.Errorf("%w: TLS handshake: %w", ErrAuth, err)
	}
	return nil, fmt.Errorf("TLS handshake: %w", err)
}

// tampered reports whether err is TLS's own: an alert the other side sent,
// or one this side raised on bytes that fail TLS's checks, as bytes altered,
// injected or replayed on the way do. A peer without the secret, or an
// attacker on the path, rather than a network that failed.
func tampered(err error) bool {
	var op *net.OpError
	return errors.As(err, new(tls.AlertError)) || errors.As(err, new(tls.RecordHeaderError)) ||
		(errors.As(err, &op) && (op.Op == "local error" || op.Op == "remote error"))
}

// tlsRefusal is a TLS record holding a fatal handshake_failure alert (RFC
// 8446 section 6): what a node with a secret writes to a node without one
// that dialled it, and a node without one to a node with one, so that each
// fails with ErrAuth rather than a lost connection.
var tlsRefusal = []byte{21, 3, 3, 0, 2, 2, 40}

// refuseTLS tells, from the first bytes of what should be a preamble,
// whether the other side speaks TLS: a node with a secret, dialling a node
// without one or refusing to be dialled by it. The node without answers
// with tlsRefusal and fails with ErrAuth.
func (p *peer) refuseTLS() error {
	b, err := p.br.Peek(2)
	if err != nil || (b[0] != 21 && b[0] != 22) || b[1] != 3 {
		return nil
	}
	if b[0] == 22 {
		p.conn.Write(tlsRefusal)
	}
	return fmt.Errorf("%w: the peer requires a shared secret", ErrAuth)
}

// secureConn is a TLS connection that keeps the optional interfaces of the
// connection under it.
type secureConn struct{ *tls.Conn }

// Read reads from the TLS session. A record that fails TLS's checks ends
// the session with an error that matches ErrAuth, here and in Write.
func (c secureConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, authError(err)
}

// Write writes to the TLS session.
func (c secureConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, authError(err)
}

// authError wraps err with ErrAuth if TLS raised it.
func authError(err error) error {
	if err != nil && tampered(err) {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return err
}

// Close closes the connection under the session, without TLS's
// close_notify: a node says goodbye in its own protocol (and CloseWrite sends
// close_notify), Close must not wait on a peer that does not read, and a
// close_notify written after a write that a deadline cut short would land
// inside a record, where the other side takes it for tampering.
func (c secureConn) Close() error { return c.NetConn().Close() }

// CloseWrite sends TLS's close_notify, which the other side reads as the
// end of the stream, then closes the sending side of the connection under
// it if it can.
func (c secureConn) CloseWrite() error {
	if err := c.Conn.CloseWrite(); err != nil {
		return err
	}
	if hc, ok := c.NetConn().(transport.HalfCloser); ok {
		return hc.CloseWrite()
	}
	return nil
}

// Unacked returns the bytes, TLS records included, that the connection
// under it has not had acknowledged, if it can tell.
func (c secureConn) Unacked() (int, error) {
	if u, ok := c.NetConn().(transport.Unacked); ok {
		return u.Unacked()
	}
	return 0, errors.ErrUnsupported
}

// exported returns the keying material of the connection's TLS session that
// proofs bind to.
func exported(conn net.Conn) ([]byte, error) {
	c, ok := conn.(secureConn)
	if !ok {
		return nil, errors.New("proof of the secret over a connection without TLS")
	}
	st := c.ConnectionState()
	return st.ExportKeyingMaterial(wire.ExporterLabel, nil, wire.ExporterSize)
}
