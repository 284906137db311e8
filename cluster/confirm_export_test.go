package cluster

import "net/netip"

// What confirm_test.go looks at inside a node: whether an identity claim
// was acted on.

// FiledAsLeft reports whether n has filed addr as the address of a remote
// that left gracefully: never redialled, nor dialled from peer lists.
func FiledAsLeft(n *Node, addr string) bool {
	k := netip.MustParseAddrPort(addr)
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.left.get(k)
	return ok
}

// IsSelf reports whether n takes addr for one of its own addresses, which
// it never dials.
func IsSelf(n *Node, addr string) bool {
	k := netip.MustParseAddrPort(addr)
	n.mu.Lock()
	defer n.mu.Unlock()
	_, self := n.selves[k]
	return self
}
