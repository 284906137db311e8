package discovery_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/discovery"
)

// addrs asks src and returns its addresses sorted, and its error.
func addrs(t *testing.T, src discovery.Source) ([]string, error) {
	t.Helper()
	a, err := src.Addrs(context.Background())
	slices.Sort(a)
	return a, err
}

func TestDNSFollowsTheAnswer(t *testing.T) {
	t.Parallel()
	s := newDNSServer(t)
	src := discovery.DNS("peers.peerweave.test.", 7946, s.resolver())

	s.setIPs("peers.peerweave.test.", "10.0.0.1", "10.0.0.2")
	got, err := addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946", "10.0.0.2:7946"}, got)

	s.setIPs("peers.peerweave.test.", "10.0.0.2", "10.0.0.3", "fd00::1")
	got, err = addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.2:7946", "10.0.0.3:7946", "[fd00::1]:7946"}, got)
}

func TestDNSReportsAMissingName(t *testing.T) {
	t.Parallel()
	s := newDNSServer(t)
	got, err := addrs(t, discovery.DNS("nobody.peerweave.test.", 7946, s.resolver()))
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	assert.True(t, dnsErr.IsNotFound, "%v", err)
	assert.Empty(t, got)
}

func TestDNSRejectsABadPort(t *testing.T) {
	t.Parallel()
	s := newDNSServer(t)
	s.setIPs("peers.peerweave.test.", "10.0.0.1")
	_, err := addrs(t, discovery.DNS("peers.peerweave.test.", 0, s.resolver()))
	assert.ErrorIs(t, err, discovery.ErrBadAddress)
}

func TestDNSFailsWhileTheServerIsDown(t *testing.T) {
	t.Parallel()
	s := newDNSServer(t)
	s.setIPs("peers.peerweave.test.", "10.0.0.1")
	src := discovery.DNS("peers.peerweave.test.", 7946, s.resolver())

	s.stop()
	got, err := addrs(t, src)
	require.Error(t, err)
	assert.Empty(t, got)

	s.start()
	got, err = addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7946"}, got)
}

func TestSRVResolvesTargetsAndFollowsTheAnswer(t *testing.T) {
	t.Parallel()
	s := newDNSServer(t)
	src := discovery.SRV("_peerweave._tcp.peerweave.test.", s.resolver())
	s.setIPs("a.peerweave.test.", "127.0.0.1")
	s.setIPs("b.peerweave.test.", "127.0.0.2", "::1")
	s.setIPs("c.peerweave.test.", "127.0.0.3")

	s.setSRV("_peerweave._tcp.peerweave.test.", srvTarget{"a.peerweave.test", 7001}, srvTarget{"b.peerweave.test", 7002})
	got, err := addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:7001", "127.0.0.2:7002", "[::1]:7002"}, got)

	s.setSRV("_peerweave._tcp.peerweave.test.", srvTarget{"b.peerweave.test", 7002}, srvTarget{"c.peerweave.test", 7003})
	got, err = addrs(t, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.2:7002", "127.0.0.3:7003", "[::1]:7002"}, got)
}

func TestSRVUsesTheTargetsThatResolve(t *testing.T) {
	t.Parallel()
	s := newDNSServer(t)
	s.setIPs("a.peerweave.test.", "127.0.0.1")
	s.setSRV("_peerweave._tcp.peerweave.test.", srvTarget{"a.peerweave.test", 7001}, srvTarget{"gone.peerweave.test", 7002})

	got, err := addrs(t, discovery.SRV("_peerweave._tcp.peerweave.test.", s.resolver()))
	assert.Equal(t, []string{"127.0.0.1:7001"}, got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gone.peerweave.test")
	var dnsErr *net.DNSError
	require.True(t, errors.As(err, &dnsErr))
	assert.True(t, dnsErr.IsNotFound)
}
