package cluster

import (
	"cmp"
	"net"
	"net/netip"

	"github.com/peerweave/peerweave/internal/addr"
)

// Remote is the listen address of another node: the address it can be dialled
// at, which identifies it in the cluster.
type Remote net.TCPAddr

// String returns the address in "host:port" form.
func (r Remote) String() string {
	a := net.TCPAddr(r)
	return a.String()
}

// Equal reports whether r and o are the same address, as a node tells
// remotes apart: an IPv4 address and its IPv4-in-IPv6 form are equal.
func (r Remote) Equal(o Remote) bool { return r.key() == o.key() }

// key returns the comparable form of r used to index remotes.
func (r Remote) key() netip.AddrPort {
	ip, _ := netip.AddrFromSlice(r.IP)
	return addr.Canonical(netip.AddrPortFrom(ip.WithZone(r.Zone), uint16(r.Port)))
}

// remoteOf turns a key back into a Remote.
func remoteOf(k netip.AddrPort) Remote {
	return Remote(*net.TCPAddrFromAddrPort(k))
}

// compareKeys orders keys by address, then port.
func compareKeys(a, b netip.AddrPort) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Port(), b.Port()))
}
