package quic_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) cluster.Transport { return quic.New() })
}

func TestConformanceMutualTLS(t *testing.T) {
	ca := transporttest.NewCA(t)
	transporttest.Run(t, func(t *testing.T) cluster.Transport { return quic.New(quic.WithTLS(ca.Config(t))) })
}
