// Package addr puts node addresses in the one form in which peerweave
// compares them: an IP and a port, with an IPv4-in-IPv6 address unmapped, so
// that "[::ffff:10.0.0.1]:7946" and "10.0.0.1:7946" name the same node.
package addr

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// Canonical returns a with an IPv4-in-IPv6 address unmapped.
func Canonical(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// Parse parses an "ip:port" literal into canonical form.
func Parse(s string) (netip.AddrPort, error) {
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return Canonical(a), nil
}

// Of returns the canonical form of a net.Addr whose String is "ip:port", as
// a *net.TCPAddr's and a *net.UDPAddr's are.
func Of(a net.Addr) (netip.AddrPort, error) {
	if t, ok := a.(*net.TCPAddr); ok {
		return Canonical(t.AddrPort()), nil
	}
	if u, ok := a.(*net.UDPAddr); ok {
		return Canonical(u.AddrPort()), nil
	}
	return Parse(a.String())
}

// SplitHostPort splits "host:port" into its host and a port from 1 to 65535.
func SplitHostPort(hostport string) (host string, port uint16, err error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("port %q is not 1 to 65535", p)
	}
	return host, uint16(n), nil
}

// Resolve turns "host:port" into canonical form, looking the host up with r
// (net.DefaultResolver if nil) if it is a name rather than an IP. An empty
// host is 127.0.0.1.
func Resolve(ctx context.Context, r *net.Resolver, hostport string) (netip.AddrPort, error) {
	host, port, err := SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if r == nil {
			r = net.DefaultResolver
		}
		ips, err := r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return netip.AddrPort{}, err
		}
		ip = ips[0]
	}
	return Canonical(netip.AddrPortFrom(ip, port)), nil
}
