package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
)

func TestSettingsReadBackWhatOptionsAndSettersSet(t *testing.T) {
	t.Parallel()
	n, err := cluster.NewNode("10.0.0.1:0",
		cluster.WithTransport(clustertest.MemTransports()()),
		cluster.WithLabel("prod"),
		cluster.WithHealthyInterval(3*time.Second),
		cluster.WithNetworkTimeout(4*time.Second),
		cluster.WithReconnectInterval(5*time.Second))
	require.NoError(t, err)
	defer n.Close()
	assert.Equal(t, "prod", n.Label())
	assert.Equal(t, 3*time.Second, n.HealthyInterval())
	assert.Equal(t, 4*time.Second, n.NetworkTimeout())
	assert.Equal(t, 5*time.Second, n.ReconnectInterval())

	n.SetHealthyInterval(6 * time.Second)
	n.SetNetworkTimeout(7 * time.Second)
	n.SetReconnectInterval(8 * time.Second)
	n.SetNetworkTimeout(-1) // ignored, as documented
	assert.Equal(t, 6*time.Second, n.HealthyInterval())
	assert.Equal(t, 7*time.Second, n.NetworkTimeout())
	assert.Equal(t, 8*time.Second, n.ReconnectInterval())
}

func TestSettingsOfADefaultNode(t *testing.T) {
	t.Parallel()
	n, err := cluster.NewNode("10.0.0.1:0", cluster.WithTransport(clustertest.MemTransports()()))
	require.NoError(t, err)
	defer n.Close()
	assert.Empty(t, n.Label())
	assert.Equal(t, cluster.DefaultHealthyInterval, n.HealthyInterval())
	assert.Equal(t, cluster.DefaultNetworkTimeout, n.NetworkTimeout())
	assert.Equal(t, cluster.DefaultReconnectInterval, n.ReconnectInterval())
}
