package discovery_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/discovery"
)

// replace writes content to a new file and renames it over path, the way
// File asks tools to rewrite it.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

func TestFileFollowsRewrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "peers")
	src := discovery.File(path)

	replace(t, path, "# the seeds\n10.0.0.1:7946\n\n  10.0.0.2:7946  # rack 2\r\n[::ffff:10.0.0.3]:7946\nSeed.Example.COM.:7946\n")
	got, err := addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946", "seed.example.com.:7946"}, got, "a name keeps its final dot")

	// Rewritten in place, not renamed: the next read sees it all the same.
	require.NoError(t, os.WriteFile(path, []byte("10.0.0.4:7946"), 0o600))
	got, err = addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.4:7946"}, got)

	replace(t, path, "# nobody\n")
	got, err = addrs(t, src)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestFileReportsMalformedLinesAndUsesTheRest(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "peers")
	replace(t, path, strings.Join([]string{
		"10.0.0.1:7946",
		"10.0.0.2",      // line 2: no port
		"10.0.0.3:http", // line 3: named port
		"10.0.0.4:7946",
		"0.0.0.0:7946",    // line 5: unspecified
		"not a host:7946", // line 6
		"10.0.0.5:70000",  // line 7: port out of range
		"[fd00::5]:7946",
		"[::ffff:0.0.0.0]:7946", // line 9: unspecified, in IPv6 form
	}, "\n"))

	got, err := addrs(t, discovery.File(path))
	assert.Equal(t, []string{"10.0.0.1:7946", "10.0.0.4:7946", "[fd00::5]:7946"}, got)
	require.ErrorIs(t, err, discovery.ErrBadAddress)
	for _, line := range []string{":2:", ":3:", ":5:", ":6:", ":7:", ":9:"} {
		assert.Contains(t, err.Error(), path+line)
	}
	assert.NotContains(t, err.Error(), path+":1:")
	assert.NotContains(t, err.Error(), path+":4:")
}

func TestFileReportsAMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "peers")
	src := discovery.File(path)
	_, err := addrs(t, src)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	replace(t, path, "10.0.0.1:7946\n")
	got, err := addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946"}, got)
}

func TestFileRefusesAHugeFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "peers")
	replace(t, path, strings.Repeat("10.0.0.1:7946\n", discovery.MaxFileSize/14+1))
	got, err := addrs(t, discovery.File(path))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than")
	assert.Empty(t, got)
}
