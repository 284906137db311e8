package addr

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUnmaps(t *testing.T) {
	a, err := Parse("[::ffff:10.0.0.1]:7946")
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1:7946", a.String())
	_, err = Parse("localhost:7946")
	assert.Error(t, err)
}

func TestOf(t *testing.T) {
	a, err := Of(&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1}) // a 16-byte IPv4 address
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1:1", a.String())
	a, err = Of(&net.UDPAddr{IP: net.ParseIP("::1"), Port: 2})
	require.NoError(t, err)
	assert.Equal(t, "[::1]:2", a.String())
}

func TestResolve(t *testing.T) {
	for in, want := range map[string]string{":7946": "127.0.0.1:7946", "[::ffff:127.0.0.1]:1": "127.0.0.1:1", "localhost:5": "127.0.0.1:5"} {
		a, err := Resolve(context.Background(), nil, in)
		require.NoError(t, err, in)
		if in == "localhost:5" && a.Addr().Is6() {
			continue // a machine may list ::1 first
		}
		assert.Equal(t, want, a.String(), in)
	}
	for _, bad := range []string{"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x"} {
		_, err := Resolve(context.Background(), nil, bad)
		assert.Error(t, err, bad)
	}
}
