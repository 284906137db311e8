package transporttest_test

import (
	"testing"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/tcp"
	"github.com/peerweave/peerweave/transport/transporttest"
)

// A transport's package checks it with one test. Here the test is a func
// value; in a _test.go file it is func TestConformance(t *testing.T).
func ExampleRun() {
	testConformance := func(t *testing.T) {
		transporttest.Run(t, func(*testing.T) transport.Transport { return tcp.New() })
	}
	_ = testConformance
}

// Transports whose endpoints share state, as an in-memory network, hand out
// that state every time, so that every endpoint reaches every other.
func ExampleRun_sharedNetwork() {
	testConformance := func(t *testing.T) {
		network := mem.NewNetwork()
		transporttest.Run(t, func(*testing.T) transport.Transport { return network })
	}
	_ = testConformance
}

// A TLS transport is checked with real verification: every endpoint gets its
// own certificate from one test CA.
func ExampleCA() {
	testConformanceTLS := func(t *testing.T) {
		ca := transporttest.NewCA(t)
		transporttest.Run(t, func(t *testing.T) transport.Transport {
			return tcp.New(tcp.WithTLS(ca.Config(t)))
		})
	}
	_ = testConformanceTLS
}
