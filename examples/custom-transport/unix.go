package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"path/filepath"
	"syscall"
)

// Unix is a cluster.Transport over Unix domain sockets, so that nodes on one
// host talk without TCP. A node's "ip:port" address names a socket file in
// Dir: 127.0.0.1:7000 is Dir/127.0.0.1_7000, and port 0 picks a free port.
//
// A Unix stream socket already behaves as the node needs (ordered bytes,
// deadlines, Close unblocking Read and Write, buffered data delivered before
// EOF), so the transport only maps addresses.
type Unix struct {
	Dir string
}

// Listen creates the socket file for laddr.
func (u Unix) Listen(laddr string) (net.Listener, error) {
	a, err := netip.ParseAddrPort(laddr)
	if err != nil {
		return nil, err
	}
	if a.Port() != 0 {
		return u.listen(a)
	}
	for range 100 {
		ln, err := u.listen(netip.AddrPortFrom(a.Addr(), uint16(1024+rand.IntN(64512))))
		if !errors.Is(err, syscall.EADDRINUSE) {
			return ln, err
		}
	}
	return nil, fmt.Errorf("unix: no free port in %s", u.Dir)
}

func (u Unix) listen(a netip.AddrPort) (net.Listener, error) {
	ln, err := net.Listen("unix", u.path(a))
	if err != nil {
		return nil, err
	}
	return listener{ln, addr{a}}, nil
}

// Dial connects to the socket file of raddr.
func (u Unix) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	a, err := netip.ParseAddrPort(raddr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", u.path(a))
	if err != nil {
		return nil, err
	}
	return conn{c, unnamed, addr{a}}, nil
}

func (u Unix) path(a netip.AddrPort) string {
	return filepath.Join(u.Dir, fmt.Sprintf("%s_%d", a.Addr(), a.Port()))
}

// addr is an "ip:port" address on the Unix transport.
type addr struct{ netip.AddrPort }

func (addr) Network() string { return "unix" }

// unnamed is the address of a dialling socket, which has no name.
var unnamed = addr{netip.AddrPortFrom(netip.IPv4Unspecified(), 0)}

// listener reports its "ip:port" address and gives its conns addresses of
// that form.
type listener struct {
	net.Listener
	addr addr
}

func (l listener) Addr() net.Addr { return l.addr }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return conn{c, l.addr, unnamed}, nil
}

// conn is a Unix socket connection with "ip:port" addresses.
type conn struct {
	net.Conn
	local, remote addr
}

func (c conn) LocalAddr() net.Addr  { return c.local }
func (c conn) RemoteAddr() net.Addr { return c.remote }
