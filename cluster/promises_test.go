package cluster_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of this file check what the documentation promises and a test
// written from the documentation alone found untrue, or unsaid.

// A name is 1 to MaxNameLen bytes: the empty name is refused as a long one
// is, with an error that says what a name may be.
func TestNamesAreOneTo128Bytes(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	for _, bad := range []string{"", strings.Repeat("n", cluster.MaxNameLen+1)} {
		_, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(nw), cluster.WithName(bad))
		require.Error(t, err, "a name of %d bytes", len(bad))
		assert.Contains(t, err.Error(), "a name is 1 to 128 bytes")
	}
	for _, good := range []string{"n", strings.Repeat("n", cluster.MaxNameLen)} {
		n, err := cluster.NewNode("127.0.0.1:0", cluster.WithTransport(nw), cluster.WithName(good))
		require.NoError(t, err, "a name of %d bytes", len(good))
		assert.Equal(t, good, n.Name())
		n.Close()
	}
}
