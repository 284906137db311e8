package discovery_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/discovery"
)

func TestStaticNamesItsListAndKeepsIt(t *testing.T) {
	t.Parallel()
	list := []string{"10.0.0.2:7946", "10.0.0.1:7946"}
	src := discovery.Static(list...)
	list[0] = "changed"

	got, err := addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946", "10.0.0.2:7946"}, got)
	got[0] = "changed"
	got, err = addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946", "10.0.0.2:7946"}, got)
}
