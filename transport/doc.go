// Package transport defines the interface between a cluster node and the
// network it runs on. It is a leaf: the cluster package re-exports Transport
// as cluster.Transport, and the transports in its subdirectories (tcp, quic,
// mem, fault) implement it without importing the cluster package.
//
// # Writing a transport
//
// A transport opens the byte streams between nodes, with two methods:
// Listen, once per node, and Dial, once per remote. The node relies on what
// a net.Conn promises over TCP: bytes arrive intact and in order both ways,
// and concurrent Writes do not interleave (the node itself writes each
// connection from one goroutine); deadlines work and fail with an error
// matching os.ErrDeadlineExceeded (or a net.Error whose Timeout is true);
// Close unblocks a pending Read or Write; what was written before Close
// reaches the peer, whose Read then returns io.EOF; closing the listener
// makes Accept return net.ErrClosed and leaves established connections
// alone; and addresses print as "ip:port". A connection may also implement
// the optional Unacked and HalfCloser.
//
// Package transport/transporttest checks all of it, one subtest per
// property:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(*testing.T) transport.Transport { return mytransport.New() })
//	}
//
// examples/custom-transport is a complete one: Unix domain sockets in one
// file, its conformance test, and a few nodes running on it.
package transport
