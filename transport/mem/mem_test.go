package mem_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// An IPv4-in-IPv6 address names the same listener as the IPv4 one, as the
// node takes them to name the same node.
func TestMappedAddressIsIPv4(t *testing.T) {
	nw := mem.NewNetwork()
	ln, err := nw.Listen("[::ffff:10.0.0.1]:7946")
	require.NoError(t, err)
	defer ln.Close()
	assert.Equal(t, "10.0.0.1:7946", ln.Addr().String())
	c, err := nw.Dial(context.Background(), "10.0.0.1:7946")
	require.NoError(t, err)
	defer c.Close()
	a, err := ln.Accept()
	require.NoError(t, err)
	defer a.Close()
	_, err = nw.Listen("10.0.0.1:7946")
	assert.Error(t, err, "the address is in use")
}
