// Package mem is an in-memory transport: nodes of one Network talk through
// byte streams inside the process, with no sockets. It makes fast, hermetic
// clusters for tests, the way memberlist's MockNetwork does.
//
// A connection behaves like a TCP one on loopback where a node can tell:
// each direction buffers up to [BufferSize] bytes, so a Write returns once
// its bytes are buffered, and two ends that write at once both go on; a
// Write blocks only while the other end reads too little. Deadlines, Close
// and io.EOF work as on a socket. A connection is also a
// transport.HalfCloser (CloseWrite, as TCP's) and a transport.Unacked (the
// bytes written that the other end has not read). A listener holds up to
// [Backlog] connections that it has not accepted, and refuses dials past
// them.
//
//	network := mem.NewNetwork()
//	a, _ := cluster.NewNode("10.0.0.1:0", cluster.WithTransport(network))
//	b, _ := cluster.NewNode("10.0.0.2:0", cluster.WithTransport(network))
//	b.Add(a.Addr().String())
//
// Addresses are exact: a Network has no wildcard addresses and no loopback.
// A listener on "0.0.0.0:7946" or "[::]:7946" is reached only by dialling
// that very address, not by dialling 10.0.0.1:7946, so give each node an IP
// of its own, as above, and the nodes can share a port. A dialled
// connection's local address is 127.0.0.1 with a port of its own.
//
// # Virtual time
//
// Every wait in this package (Read, Write, Accept, and a Write waiting for
// another to finish) is on a sync.Cond with its lock released, and
// deadlines run on timers. So a Network works inside a testing/synctest
// bubble: once every goroutine of the test waits, the bubble's clock jumps
// to the next deadline or timer, and a test of minutes of timeouts runs in
// milliseconds, exactly. Make the Network inside the bubble, so that its
// waits belong to it:
//
//	func TestReadDeadline(t *testing.T) {
//		synctest.Test(t, func(t *testing.T) {
//			network := mem.NewNetwork()
//			ln, _ := network.Listen("10.0.0.1:7946")
//			defer ln.Close()
//			c, _ := network.Dial(t.Context(), "10.0.0.1:7946")
//			defer c.Close()
//			start := time.Now()
//			c.SetReadDeadline(start.Add(time.Minute))
//			_, err := c.Read(make([]byte, 1))
//			// err is os.ErrDeadlineExceeded and time.Since(start) exactly
//			// a minute of the bubble's clock, at once on the wall clock.
//		})
//	}
//
// A Go example cannot run in a bubble (synctest.Test needs the test's
// *testing.T), so this package's example runs on the wall clock;
// TestVirtualTime in its tests shows the same calls in a bubble.
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

// Backlog is how many dialled connections a listener holds before Accept
// takes them, as many as a Linux TCP listener holds by default (somaxconn):
// a crowd of nodes that all join one seed at once dials it in a burst. Dial
// is refused while the backlog is full. The queue grows as dials arrive, so
// an idle listener holds no memory for it.
const Backlog = 4096

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
	l := &listener{nw: nw, addr: a}
	l.ready.L = &l.mu
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
	if l.closed || len(l.queue) >= Backlog {
		return nil, fmt.Errorf("mem: dial %s: %w", a, ErrRefused)
	}
	l.queue = append(l.queue, server)
	l.ready.Signal()
	return client, nil
}

func tcpAddr(a netip.AddrPort) *net.TCPAddr { return net.TCPAddrFromAddrPort(a) }

type listener struct {
	nw   *Network
	addr netip.AddrPort

	mu     sync.Mutex
	ready  sync.Cond  // signalled when queue grows or the listener closes
	queue  []net.Conn // dialled, not yet accepted; at most Backlog
	closed bool
}

func (l *listener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed && len(l.queue) == 0 {
		l.ready.Wait()
	}
	if l.closed {
		return nil, net.ErrClosed
	}
	c := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	if len(l.queue) == 0 {
		l.queue = nil // let go of the array a burst of dials grew
	}
	return c, nil
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
	l.ready.Broadcast()
	for _, c := range l.queue {
		c.Close()
	}
	l.queue = nil
	return nil
}

func (l *listener) Addr() net.Addr { return tcpAddr(l.addr) }
