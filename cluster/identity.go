package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/peerweave/peerweave/internal/addr"
)

// Who a node is to its peers, besides its address: a name, a cluster label,
// the address it is dialled at, and tags (tags.go). The node sends them in
// its hello; names.go keeps the remotes' names.

// MaxNameLen is the longest name or label, in bytes, that a node takes.
const MaxNameLen = 128

// WithName sets the node's name, 1 to MaxNameLen bytes (default: "node-"
// and 16 random hex digits, new for each node); NewNode fails for an empty
// name or a longer one, with an error that says so. Names are unique among the
// live nodes of a cluster: a node refuses a peer whose name a remote at
// another address has, and Add fails with ErrNameConflict. A name that
// reappears at another address while its old address is no longer connected,
// as when a node restarts elsewhere, replaces the old entry: the old address
// is not redialled. Give a node a name that survives its restarts, such as a
// pod's name, for that to happen.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithLabel sets the name of the node's cluster, at most MaxNameLen bytes
// (default: none). Nodes whose labels differ refuse each other in the
// handshake, before either learns any address from the other, and log it;
// Add fails with ErrLabelMismatch. So a stale seed or DNS record cannot
// merge two clusters. A node without a label meets only nodes without one.
func WithLabel(label string) Option { return func(c *config) { c.label = label } }

// WithAdvertiseAddr sets the address the node tells its peers to dial it
// at, "ip:port", when that is not the address it listens on: behind NAT, a
// container's mapped port or a load balancer, or when it listens on a
// wildcard address. Port 0 means the port the node listens on. Every other
// node knows the node by it, in peer lists and as a Remote; see Self.
func WithAdvertiseAddr(hostport string) Option { return func(c *config) { c.advertise = hostport } }

// checkIdentity checks the identity options.
func (c *config) checkIdentity() error {
	switch {
	case len(c.name) == 0 || len(c.name) > MaxNameLen:
		return fmt.Errorf("cluster: name of %d bytes: a name is 1 to %d bytes", len(c.name), MaxNameLen)
	case len(c.label) > MaxNameLen:
		return fmt.Errorf("cluster: label of %d bytes, more than %d", len(c.label), MaxNameLen)
	case c.maxTags < 0 || c.maxTags > maxTagsLimit:
		return fmt.Errorf("cluster: tags limit %d must be from 0 to %d", c.maxTags, maxTagsLimit)
	}
	if c.advertise != "" {
		a, err := addr.Parse(c.advertise)
		if err != nil || a.Addr().IsUnspecified() {
			return fmt.Errorf("cluster: advertised address %q must be ip:port with a specified ip", c.advertise)
		}
	}
	if c.maxTags == 0 { // the default, which the tags below must fit
		c.maxTags = DefaultMaxTagsSize
	}
	if size := tagsSize(c.tags); size > c.maxTags {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrTagsTooLarge, size, c.maxTags)
	}
	return nil
}

// identity is what a node tells its peers about itself.
type identity struct {
	// advertise is the address in the node's hellos: WithAdvertiseAddr's,
	// else the listen address. Immutable.
	advertise netip.AddrPort
	// seen is the address that the remote of the first connection knows
	// this node by, for a node that advertises an unspecified IP.
	seen atomic.Pointer[netip.AddrPort]

	mu   sync.Mutex // guards own; taken alone, or inside a peer's mu (membership.go)
	own  *tagSet    // this node's tags; replaced, never changed
	name string     // immutable
}

// initIdentity sets up the node's identity from its configuration, once it
// listens.
func (n *Node) initIdentity() {
	n.id.name = n.cfg.name
	n.id.advertise = n.self
	if n.cfg.advertise != "" {
		a, _ := addr.Parse(n.cfg.advertise) // checked by checkIdentity
		if a.Port() == 0 {
			a = netip.AddrPortFrom(a.Addr(), n.self.Port())
		}
		n.id.advertise = a
	}
	n.id.own = &tagSet{m: maps.Clone(n.cfg.tags)}
	n.RemoteTagsChanged(n.cfg.tagsChanged)
}

// Name returns the node's name: WithName's, or the one generated for it.
func (n *Node) Name() string { return n.id.name }

// Self returns the Remote under which the other nodes know this node: its
// advertised address (WithAdvertiseAddr), else its listen address, which Addr
// returns. A node that listens on a wildcard address (":0", "0.0.0.0:0",
// "[::]:0") without an advertised one is known to each remote by the IP it
// connected from; Self then returns the address that the remote of its first
// connection knows it by, and the listen address until it has one. Such a node
// may be known by other IPs to remotes that reach it on other interfaces:
// give it an advertised address to be known by one.
func (n *Node) Self() Remote {
	if k := n.id.seen.Load(); k != nil {
		return remoteOf(*k)
	}
	return remoteOf(n.id.advertise)
}

// ownAddr reports whether k is this node's listen or advertised address.
func (n *Node) ownAddr(k netip.AddrPort) bool { return k == n.self || k == n.id.advertise }

// learnSelf records, for a node that advertises an unspecified IP, the
// address that p's remote knows it by: the local IP of the connection, with
// the advertised port.
func (n *Node) learnSelf(p *peer) {
	if !n.id.advertise.Addr().IsUnspecified() || n.id.seen.Load() != nil {
		return
	}
	local, err := addr.Of(p.conn.LocalAddr())
	if err != nil || local.Addr().IsUnspecified() {
		return
	}
	k := netip.AddrPortFrom(local.Addr(), n.id.advertise.Port())
	n.id.seen.CompareAndSwap(nil, &k)
}

// RemoteInfo is what a node knows about one of its remotes.
type RemoteInfo struct {
	// Remote is the address the node knows the remote by.
	Remote Remote
	// Name is the remote's name (see WithName).
	Name string
	// Tags are the remote's tags as last received; the map is the
	// caller's.
	Tags map[string]string
}

// Info returns what the node knows about the remote r, and false if r is
// not a remote of the node.
func (n *Node) Info(r Remote) (RemoteInfo, bool) {
	p := n.remotes.get(r.key())
	if p == nil {
		return RemoteInfo{}, false
	}
	return RemoteInfo{Remote: remoteOf(p.key), Name: p.name, Tags: maps.Clone(p.tags.Load().m)}, true
}

// randomName is a node's default name: "node-" and 16 random hex digits.
func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "node-" + hex.EncodeToString(b)
}
