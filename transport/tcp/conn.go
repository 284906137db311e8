package tcp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// conn is a TCP connection that tells how much of what was written to it
// the network has yet to take (transport.Unacked). Its *net.TCPConn gives it
// CloseWrite (transport.HalfCloser).
type conn struct{ *net.TCPConn }

// newConn limits c's unsent bytes to lowat (if positive) and wraps it.
func newConn(c *net.TCPConn, lowat int) *conn {
	limitUnsent(c, lowat)
	return &conn{c}
}

// Unacked returns the bytes in the socket's send queue: sent and not yet
// acknowledged, or not sent yet.
func (c *conn) Unacked() (int, error) { return unacked(c.TCPConn) }

// limitUnsent sets TCP_NOTSENT_LOWAT on c, where the system has it, if lowat
// is positive. It is a hint: a socket that refuses it keeps working, with
// more data parked in its kernel.
func limitUnsent(c *net.TCPConn, lowat int) {
	if lowat <= 0 {
		return
	}
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { setLowat(fd, lowat) })
	}
}

// unacked asks the socket under c how many bytes its send queue holds.
func unacked(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var qerr error
	if err := rc.Control(func(fd uintptr) { n, qerr = sendQueue(fd) }); err != nil {
		return 0, err
	}
	if qerr != nil {
		return 0, fmt.Errorf("tcp: send queue: %w", qerr)
	}
	return n, nil
}

// tlsConn is a TLS connection that reports the unacknowledged bytes of the
// TCP connection under it, and half-closes that connection too.
type tlsConn struct{ *tls.Conn }

// CloseWrite sends TLS's close_notify, which the other side reads as the
// end of the stream, then half-closes the TCP connection under it, so that
// the other side's kernel knows too.
func (c tlsConn) CloseWrite() error {
	if err := c.Conn.CloseWrite(); err != nil {
		return err
	}
	if hc, ok := c.NetConn().(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return nil
}

// Unacked returns the bytes, TLS records included, in the send queue of the
// TCP socket under the connection.
func (c tlsConn) Unacked() (int, error) {
	sc, ok := c.NetConn().(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return unacked(sc)
}

// listener accepts connections with their unsent bytes limited.
type listener struct {
	*net.TCPListener
	lowat int
}

// Accept waits for the next connection.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return newConn(c, l.lowat), nil
}

// tlsListener hands out the TLS connections of a tls.NewListener wrapped.
type tlsListener struct{ net.Listener }

// Accept waits for the next connection; its TLS handshake runs on its first
// read or write.
func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tlsConn{c.(*tls.Conn)}, nil
}
