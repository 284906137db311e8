// Package mem is an in-memory transport: nodes of one Network talk through
// byte streams inside the process, with no sockets. It makes fast, hermetic
// clusters for tests, the way memberlist's MockNetwork does.
//
// A connection behaves like a TCP one on loopback where a node can tell:
// each direction buffers up to [BufferSize] bytes, so a Write returns once
// its bytes are buffered, and two ends that write at once both go on; a
// Write blocks only while the other end reads too little. Deadlines, Close
// and io.EOF work as on a socket.
//
//	network := mem.NewNetwork()
//	a, _ := cluster.NewNode("10.0.0.1:0", cluster.WithTransport(network))
//	b, _ := cluster.NewNode("10.0.0.2:0", cluster.WithTransport(network))
//	b.Add(a.Addr().String())
package mem

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/peerweave/peerweave/internal/addr"
)

// backlog is how many dialled connections a listener holds before Accept
// takes them; Dial is refused while it is full.
const backlog = 128

// ErrRefused is returned by Dial when nothing listens at the address, like
// a TCP connection refused.
var ErrRefused = fmt.Errorf("mem: connection refused: %w", syscall.ECONNREFUSED)

// Network is a set of in-memory listeners that can dial each other. The zero
// value is not usable; call NewNetwork. A Network implements
// transport.Transport and may serve any number of nodes.
type Network struct {
	mu        sync.Mutex
	listeners map[netip.AddrPort]*listener
	nextPort  uint16
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{listeners: make(map[netip.AddrPort]*listener), nextPort: 1024}
}

// Listen listens on laddr, an "ip:port" address; port 0 picks a free one.
// An IPv4-in-IPv6 address is the IPv4 one, as on a dual-stack host.
func (nw *Network) Listen(laddr string) (net.Listener, error) {
	a, err := addr.Parse(laddr)
	if err != nil {
		return nil, fmt.Errorf("mem: listen %q: %w", laddr, err)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if a.Port() == 0 {
		a = nw.freeLocked(a.Addr())
	}
	if nw.listeners[a] != nil {
		return nil, fmt.Errorf("mem: listen %s: %w", a, syscall.EADDRINUSE)
	}
	l := &listener{nw: nw, addr: a, conns: make(chan net.Conn, backlog), done: make(chan struct{})}
	nw.listeners[a] = l
	return l, nil
}

// freeLocked returns a free address on ip. nw.mu must be held.
func (nw *Network) freeLocked(ip netip.Addr) netip.AddrPort {
	for {
		nw.nextPort++
		if nw.nextPort < 1024 {
			nw.nextPort = 1024
		}
		a := netip.AddrPortFrom(ip, nw.nextPort)
		if nw.listeners[a] == nil {
			return a
		}
	}
}

// Dial connects to the listener at raddr, an "ip:port" address.
func (nw *Network) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	a, err := addr.Parse(raddr)
	if err != nil {
		return nil, fmt.Errorf("mem: dial %q: %w", raddr, err)
	}
	nw.mu.Lock()
	l := nw.listeners[a]
	local := nw.freeLocked(netip.MustParseAddr("127.0.0.1"))
	nw.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("mem: dial %s: %w", a, ErrRefused)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mem: dial %s: %w", a, err)
	}
	client, server := newConnPair(tcpAddr(local), tcpAddr(a))
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		select {
		case l.conns <- server:
			return client, nil
		default:
		}
	}
	return nil, fmt.Errorf("mem: dial %s: %w", a, ErrRefused)
}

func tcpAddr(a netip.AddrPort) *net.TCPAddr { return net.TCPAddrFromAddrPort(a) }

type listener struct {
	nw    *Network
	addr  netip.AddrPort
	conns chan net.Conn
	done  chan struct{} // closed by Close

	mu     sync.Mutex // guards closed and sends on conns
	closed bool
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener; connections it accepted stay open, and ones
// dialled but not yet accepted are closed.
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.nw.mu.Lock()
	delete(l.nw.listeners, l.addr)
	l.nw.mu.Unlock()
	close(l.done)
	for {
		select {
		case c := <-l.conns:
			c.Close()
		default:
			return nil
		}
	}
}

func (l *listener) Addr() net.Addr { return tcpAddr(l.addr) }
