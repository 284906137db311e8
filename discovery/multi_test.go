package discovery_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/discovery"
)

func TestMultiUnitesSourcesAndReportsTheFailingOne(t *testing.T) {
	t.Parallel()
	errDown := errors.New("registry down")
	path := filepath.Join(t.TempDir(), "peers")
	replace(t, path, "10.0.0.2:7946\n10.0.0.3:7946\nbroken\n")
	src := discovery.Multi(
		discovery.Static("10.0.0.1:7946", "10.0.0.2:7946"),
		discovery.SourceFunc(func(context.Context) ([]string, error) { return nil, errDown }),
		discovery.File(path),
	)

	got, err := addrs(t, src)
	assert.Equal(t, []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946"}, got)
	require.ErrorIs(t, err, errDown)
	assert.ErrorIs(t, err, discovery.ErrBadAddress)
	assert.Contains(t, err.Error(), "discovery.SourceFunc: registry down")
	assert.Contains(t, err.Error(), "file("+path+"): "+path+":3:")
	assert.NotContains(t, err.Error(), "static")
}

func TestMultiAsksItsSourcesAtOnce(t *testing.T) {
	t.Parallel()
	// Each source waits for the other: asked one after the other, they
	// would wait forever.
	a, b := make(chan struct{}), make(chan struct{})
	meet := func(mine, theirs chan struct{}, addr string) discovery.Source {
		return discovery.SourceFunc(func(ctx context.Context) ([]string, error) {
			close(mine)
			select {
			case <-theirs:
				return []string{addr}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	got, err := discovery.Multi(meet(a, b, "10.0.0.1:7946"), meet(b, a, "10.0.0.2:7946")).Addrs(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"10.0.0.1:7946", "10.0.0.2:7946"}, got)
}
