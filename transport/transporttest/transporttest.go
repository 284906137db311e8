// Package transporttest checks a transport.Transport against everything a node
// relies on. A transport's author runs it from one test:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(*testing.T) transport.Transport { return mytransport.New() })
//	}
//
// Run calls the factory for each end of every connection it makes. Transports
// from one Run must reach each other: a transport whose endpoints share state,
// such as an in-memory network, returns that one network every time.
//
// Each property is a subtest, so a failure names what broke. The suite does
// not check for leaked goroutines: run go.uber.org/goleak in the package's
// TestMain for that.
package transporttest

import (
	"testing"

	"github.com/peerweave/peerweave/transport"
)

// NewTransport makes one endpoint's transport for the test t. Everything a
// transport needs to clean up may be registered with t.Cleanup.
type NewTransport func(t *testing.T) transport.Transport

// check is one property of a transport.
type check struct {
	name string
	run  func(t *testing.T, newTransport NewTransport)
}

// checks lists every property Run checks, in the order it checks them.
var checks = []check{
	{"ListenAddress", listenAddress},
	{"ListenOnGivenPort", listenOnGivenPort},
	{"DialAccept", dialAccept},
	{"DialOwnListener", dialOwnListener},
	{"PingPong", pingPong},
	{"LargeWrites", largeWrites},
	{"ManySmallWrites", manySmallWrites},
	{"ConcurrentWrites", concurrentWrites},
	{"PastReadDeadline", pastReadDeadline},
	{"ReadDeadlineExpires", readDeadlineExpires},
	{"PastWriteDeadline", pastWriteDeadline},
	{"WriteDeadlineExpires", writeDeadlineExpires},
	{"ClearedDeadline", clearedDeadline},
	{"CloseUnblocksRead", closeUnblocksRead},
	{"CloseUnblocksWrite", closeUnblocksWrite},
	{"DiallerCloseDeliversData", diallerCloseDeliversData},
	{"AcceptorCloseDeliversData", acceptorCloseDeliversData},
	{"ListenerCloseUnblocksAccept", listenerCloseUnblocksAccept},
	{"ListenerCloseKeepsConns", listenerCloseKeepsConns},
	{"DialNothingListening", dialNothingListening},
	{"DialCancelled", dialCancelled},
	{"DialCancelledWhilePending", dialCancelledWhilePending},
	{"ManyConns", manyConns},
}

// Run checks the transports that newTransport makes, one subtest per
// property:
//
//   - Listen on "127.0.0.1:0" picks a free port, and Addr is its "ip:port";
//     listening on a given port uses that port.
//   - Dial reaches a listener, including one of the dialling transport
//     itself (a node may dial its own address), and both ends have "ip:port"
//     addresses.
//   - Bytes arrive intact and in order both ways: small exchanges, 16 MiB
//     writes from both ends at once, and thousands of small writes.
//   - Write is safe from several goroutines at once and each call's bytes
//     arrive together, as with every net.Conn of the standard library. A
//     node itself writes each connection from one goroutine at a time, so
//     it needs only the safety; the suite holds transports to net.Conn's
//     behaviour so that other users of the conns are not surprised.
//   - Deadlines: a past deadline fails Read or Write at once, a deadline that
//     passes unblocks a pending Read or Write, and the error matches
//     os.ErrDeadlineExceeded or is a net.Error whose Timeout is true. After
//     a read timeout, clearing the deadline makes Read work again. Writing
//     after a write timeout is not required: a node drops such a
//     connection, and tls.Conn cannot do it.
//   - Close unblocks a pending Read and Write on the same connection.
//   - Everything written before Close reaches the peer, whichever end
//     closes, and then the peer's Read returns io.EOF. A node writes its
//     goodbye and closes at once, so this matters.
//   - Closing the listener makes a pending Accept return an error matching
//     net.ErrClosed and leaves established connections working.
//   - Dial fails when nothing listens at the address, within the dial
//     context's deadline; it fails on a cancelled context and returns
//     promptly when the context is cancelled during the attempt.
//   - Many connections work at once.
func Run(t *testing.T, newTransport NewTransport) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, newTransport) })
	}
}
