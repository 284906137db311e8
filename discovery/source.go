package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/peerweave/peerweave/internal/addr"
)

// Source yields the addresses of peers to join.
type Source interface {
	// Addrs returns the "host:port" addresses the source names now. It may
	// return some addresses together with an error that says what went
	// wrong with the rest; Join uses the addresses and logs the error.
	Addrs(ctx context.Context) ([]string, error)
}

// SourceFunc adapts a function to a Source.
type SourceFunc func(ctx context.Context) ([]string, error)

// Addrs calls f.
func (f SourceFunc) Addrs(ctx context.Context) ([]string, error) { return f(ctx) }

// ErrBadAddress is wrapped by the errors about an address that is not
// "host:port" with a port from 1 to 65535 and a specified host.
var ErrBadAddress = errors.New("discovery: bad address")

// normalize returns s in the form the cluster uses for remotes: "ip:port"
// in internal/addr's canonical form, or a lower-case "name:port", the name
// with its final dot if it had one.
func normalize(s string) (string, error) {
	host, port, err := addr.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrBadAddress, s, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		a := addr.Canonical(netip.AddrPortFrom(ip, port))
		if a.Addr().IsUnspecified() {
			return "", fmt.Errorf("%w %q: unspecified IP", ErrBadAddress, s)
		}
		return a.String(), nil
	}
	// A final dot stays: it makes the name fully qualified, which keeps
	// the resolver's search domains out of its lookup.
	name, rooted := strings.CutSuffix(strings.ToLower(host), ".")
	if !isHostName(name) {
		return "", fmt.Errorf("%w %q: host is neither an IP nor a DNS name", ErrBadAddress, s)
	}
	if rooted {
		name += "."
	}
	return net.JoinHostPort(name, strconv.Itoa(int(port))), nil
}

// isHostName reports whether s is made of DNS name characters, in dot-separated
// labels that are not empty.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// describe names a source in logs and errors.
func describe(s Source) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}
