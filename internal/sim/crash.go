package sim

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/peerweave/peerweave/transport"
)

// errCrashed is what a crashed node's transport returns.
var errCrashed = errors.New("sim: node crashed")

// crashable wraps a node's transport so that the node can crash: Crash
// closes its listener and every connection it made or accepted at once, as
// the kernel does for a process that dies, with no goodbye. The connections
// are the transport's own, not wrapped, so that the optional interfaces of
// package transport still reach the node.
type crashable struct {
	transport.Transport

	mu      sync.Mutex
	crashed bool
	lns     []net.Listener
	conns   []net.Conn
}

func (c *crashable) Listen(laddr string) (net.Listener, error) {
	ln, err := c.Transport.Listen(laddr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.lns = append(c.lns, ln)
	c.mu.Unlock()
	return &crashListener{Listener: ln, c: c}, nil
}

func (c *crashable) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	conn, err := c.Transport.Dial(ctx, raddr)
	if err != nil {
		return nil, err
	}
	return c.track(conn)
}

// track remembers conn, or closes it if the node crashed meanwhile.
func (c *crashable) track(conn net.Conn) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		conn.Close()
		return nil, errCrashed
	}
	c.conns = append(c.conns, conn)
	return conn, nil
}

// Crash closes everything the node has open.
func (c *crashable) Crash() {
	c.mu.Lock()
	c.crashed = true
	lns, conns := c.lns, c.conns
	c.lns, c.conns = nil, nil
	c.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, conn := range conns {
		conn.Close()
	}
}

type crashListener struct {
	net.Listener
	c *crashable
}

func (l *crashListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if conn, err = l.c.track(conn); err == nil {
			return conn, nil
		}
	}
}
