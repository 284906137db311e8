package fault_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/tcp"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance checks that a fault network without faults is the
// transport it wraps.
func TestConformance(t *testing.T) {
	fn := fault.NewNetwork()
	transporttest.Run(t, func(*testing.T) cluster.Transport { return fn.Wrap(tcp.New(tcp.Options{})) })
}
