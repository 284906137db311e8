package mem_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	nw := mem.NewNetwork()
	transporttest.Run(t, func(*testing.T) cluster.Transport { return nw })
}
