package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/peerweave/peerweave/internal/addr"
)

// DNS returns a source that looks up the A and AAAA records of name and
// pairs each address with port: the form of a Kubernetes headless service,
// whose name resolves to the IP of every ready pod.
//
// r is the resolver to ask; nil means net.DefaultResolver. To ask a given
// server, use a resolver with PreferGo and a Dial that connects to it. Write
// name with a final dot to keep the resolver's search domains out of it.
//
// Join bounds each lookup with its timeout and cancels it when it stops, but
// Go's resolver keeps waiting for an answer on its UDP socket until its own
// timeout (resolv.conf's, 5s by default), unless its Dial closes the
// connection when the context passed to Dial ends.
func DNS(name string, port int, r *net.Resolver) Source {
	return &dnsSource{name: name, port: port, r: resolver(r)}
}

// SRV returns a source that looks up the SRV records of name, such as
// "_peerweave._tcp.peers.example.com." or a Consul "peers.service.consul.",
// and resolves each target to its addresses, paired with the record's port.
// A target that does not resolve is reported, and the others are used.
//
// r is as for DNS.
func SRV(name string, r *net.Resolver) Source {
	return &srvSource{name: name, r: resolver(r)}
}

func resolver(r *net.Resolver) *net.Resolver {
	if r == nil {
		return net.DefaultResolver
	}
	return r
}

type dnsSource struct {
	name string
	port int
	r    *net.Resolver
}

func (s *dnsSource) Addrs(ctx context.Context) ([]string, error) {
	if s.port < 1 || s.port > 65535 {
		return nil, fmt.Errorf("%w: %s: port %d must be 1 to 65535", ErrBadAddress, s, s.port)
	}
	addrs, err := lookup(ctx, s.r, s.name, uint16(s.port))
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return addrs, nil
}

func (s *dnsSource) String() string {
	return "dns(" + net.JoinHostPort(s.name, strconv.Itoa(s.port)) + ")"
}

// lookup returns the addresses of host, each with port.
func lookup(ctx context.Context, r *net.Resolver, host string, port uint16) ([]string, error) {
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(ips))
	for i, ip := range ips {
		addrs[i] = addr.Canonical(netip.AddrPortFrom(ip, port)).String()
	}
	return addrs, nil
}

type srvSource struct {
	name string
	r    *net.Resolver
}

func (s *srvSource) Addrs(ctx context.Context) ([]string, error) {
	// With records that it cannot parse, the resolver returns the others
	// and an error.
	_, records, err := s.r.LookupSRV(ctx, "", "", s.name)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("discovery: %w", err))
	}
	var addrs []string
	for _, rec := range records {
		if rec.Target == "." {
			continue // "no such service here", by RFC 2782
		}
		found, err := lookup(ctx, s.r, rec.Target, rec.Port)
		if err != nil {
			errs = append(errs, fmt.Errorf("discovery: SRV target %s: %w", rec.Target, err))
		}
		addrs = append(addrs, found...)
	}
	return addrs, errors.Join(errs...)
}

func (s *srvSource) String() string { return "srv(" + s.name + ")" }
