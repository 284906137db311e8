package transport

import (
	"context"
	"net"
)

// Transport opens the reliable, ordered byte streams that connect nodes: one
// stream per pair of nodes, on one listening address per node.
//
// A node calls Listen once, when it is created, and Dial for every remote it
// connects to; the node closes every net.Conn and the net.Listener it gets.
// Closing the listener must not close connections already accepted or dialled.
// A Conn's deadlines must work, with timeouts reported as errors matching
// os.ErrDeadlineExceeded, and Close must unblock a pending Read or Write.
// Everything written before Close must reach the other side before it reads
// the end of the stream. Close may finish in the background (QUIC, for one,
// exchanges a close with the peer), but must end that work in bounded time.
// Addresses are "host:port" strings; a net.Addr a Transport returns must have
// a String form of "ip:port" (a *net.TCPAddr or *net.UDPAddr does).
//
// The transport/transporttest package checks an implementation against
// everything the node relies on.
type Transport interface {
	// Listen listens on laddr. A port of 0 picks a free port.
	Listen(laddr string) (net.Listener, error)
	// Dial connects to the node listening on raddr; ctx bounds the attempt.
	Dial(ctx context.Context, raddr string) (net.Conn, error)
}

// Unacked is implemented by a connection that can tell how much of what was
// written to it the network has yet to take: on TCP, the bytes in the
// kernel's send queue that the other side has not acknowledged.
//
// A node uses it to tell a slow link from a stalled one. A Write blocked on a
// full send buffer can return with no progress for longer than the network
// timeout on a link that moves bytes the whole time (Linux wakes such a
// writer only once about a third of the buffer has drained), so a node
// judges a link by whether this count falls, not by one Write call. A
// connection without it is judged by the progress of its writes alone.
type Unacked interface {
	// Unacked returns how many bytes written to the connection the
	// network has not yet acknowledged.
	Unacked() (int, error)
}

// HalfCloser is implemented by a connection that can close its sending side
// alone, as *net.TCPConn's CloseWrite does: the other side reads everything
// written before it, then the end of the stream, and can still send. A node
// that says goodbye half-closes rather than closes, so that its goodbye is
// not lost to a reset while the other side is still sending.
type HalfCloser interface {
	// CloseWrite shuts down the writing side of the connection.
	CloseWrite() error
}
