package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// maxLeft bounds how many graceful leavers a node remembers.
const maxLeft = 4096

// maxListDials bounds the dials to peer-list addresses in flight at once; an
// address skipped for want of room comes back in the next list.
const maxListDials = 256

// dialing is a connection this node is setting up; others that want the same
// remote wait for it.
type dialing struct {
	done chan struct{}
	err  error
}

// Add joins the node to another node at the remote address specified.
//
// It returns once the remote is connected, or is already, or raddr turns out
// to be this node's own address. The remote then shares every remote it
// knows, and this node every remote it knows, so that both clusters become
// one full mesh. Add waits at most the network timeout.
func (n *Node) Add(raddr string) error { return n.AddContext(context.Background(), raddr) }

// AddContext is Add with a context that can cut it short.
func (n *Node) AddContext(ctx context.Context, raddr string) error {
	k, err := resolve(ctx, raddr)
	if err == nil {
		err = n.join(ctx, k, true)
	}
	if err != nil {
		return fmt.Errorf("cluster: add %s: %w", raddr, err)
	}
	return nil
}

// resolve turns "host:port" into an address key, looking the host up if it is
// a name. An empty host means this machine.
func resolve(ctx context.Context, raddr string) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(raddr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", portStr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if lerr != nil {
			return netip.AddrPort{}, lerr
		}
		ip = ips[0]
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// join connects to k unless it is known already, or waits for a connection
// to k that is under way.
func (n *Node) join(ctx context.Context, k netip.AddrPort, joining bool) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	if n.isSelf(k) || (*n.remotes.Load())[k] != nil {
		n.mu.Unlock()
		return nil
	}
	if d := n.dialing[k]; d != nil {
		n.mu.Unlock()
		select {
		case <-d.done:
			return d.err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	d := &dialing{done: make(chan struct{})}
	n.dialing[k] = d
	n.mu.Unlock()

	d.err = n.connect(ctx, k, joining)

	n.mu.Lock()
	for a, e := range n.dialing {
		if e == d {
			delete(n.dialing, a)
		}
	}
	n.mu.Unlock()
	close(d.done)
	return d.err
}

// isSelf reports whether k reaches this node. n.mu must be held.
func (n *Node) isSelf(k netip.AddrPort) bool {
	_, found := n.selves[k]
	return found || k == n.self
}

// markSelf remembers addresses found to reach this node.
func (n *Node) markSelf(ks ...netip.AddrPort) {
	n.mu.Lock()
	for _, k := range ks {
		n.selves[k] = struct{}{}
	}
	n.mu.Unlock()
}

// aliasDialing files a connection under way under the identity the remote
// gave in its hello, so that a connection from that remote sees it.
func (n *Node) aliasDialing(dialled, k netip.AddrPort) {
	n.mu.Lock()
	if d := n.dialing[dialled]; d != nil && n.dialing[k] == nil {
		n.dialing[k] = d
	}
	n.mu.Unlock()
}

// awaitRemote waits until k is a remote.
func (n *Node) awaitRemote(ctx context.Context, k netip.AddrPort) error {
	for {
		n.mu.Lock()
		found := (*n.remotes.Load())[k] != nil
		changed := n.changed
		n.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("remote kept a connection of its own that never came: %w", context.Cause(ctx))
		}
	}
}

// admit decides whether the connection p becomes the node's connection to the
// remote it introduced, and registers it if so. The acceptor of a connection
// decides; the dialler registers once welcomed. Of two connections that two
// nodes dial to each other at once, the one dialled by the node with the
// lower nonce wins on both sides.
func (n *Node) admit(p *peer, acceptor bool) wire.RejectCode {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return wire.RejectClosing
	}
	if bytes.Equal(p.nonce, n.nonce) {
		n.selves[p.key] = struct{}{}
		return wire.RejectSelf
	}
	cur := *n.remotes.Load()
	for _, q := range cur {
		if bytes.Equal(q.nonce, p.nonce) {
			return wire.RejectDuplicate
		}
	}
	if d := n.dialing[p.key]; acceptor && d != nil && bytes.Compare(n.nonce, p.nonce) < 0 {
		return wire.RejectDuplicate
	}
	if l, gone := n.left[p.key]; acceptor && gone && !p.join && l.nonce == string(p.nonce) {
		return wire.RejectGone
	}
	if old := cur[p.key]; old != nil {
		// Same address, new nonce: the remote restarted before we noticed.
		n.removeLocked(old)
		n.wg.Go(old.shutdown)
	}
	if acceptor {
		p.appendControl(wire.KindWelcome, nil)
	}
	// Every other remote, queued before anything else can be, so that the
	// list goes out even if this node starts leaving at once. Both sides of
	// every connection send theirs, which is enough for a full mesh: of two
	// nodes that share a neighbour, the one it registers second gets a list
	// naming the first.
	addrs := make([]string, 0, len(cur))
	for k := range cur {
		if k != p.key {
			addrs = append(addrs, k.String())
		}
	}
	if err := p.appendControl(wire.KindPeers, &wire.Peers{Addrs: addrs}); err != nil {
		n.log.Error("cannot encode peer list", "remote", p.key.String(), "err", err)
	}
	next := maps.Clone(cur)
	next[p.key] = p
	n.remotes.Store(&next)
	delete(n.retry, p.key)
	delete(n.left, p.key)
	n.unlisted++
	n.notifyLocked()
	n.events.push(event{added: true, remote: p.remote, remotes: next})
	n.log.Debug("remote added", "remote", p.key.String(), "dialled", !acceptor)
	p.live, p.limit = true, n.cfg.maxMessage
	n.wg.Go(p.writeLoop)
	if !acceptor {
		n.wg.Go(p.readLoop)
	}
	p.signal()
	return 0
}

// learn takes p's peer list: it dials every address the node does not know.
func (n *Node) learn(p *peer, addrs []string) error {
	keys := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		k, err := netip.ParseAddrPort(a)
		if err != nil || k.Port() == 0 || k.Addr().IsUnspecified() {
			return fmt.Errorf("bad address %q", a)
		}
		keys = append(keys, netip.AddrPortFrom(k.Addr().Unmap(), k.Port()))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	cur := *n.remotes.Load()
	if cur[p.key] == p && !p.listed {
		p.listed = true
		n.unlisted--
		n.notifyLocked()
	}
	for _, k := range keys {
		_, gone := n.left[k]
		if gone || n.isSelf(k) || cur[k] != nil || n.dialing[k] != nil {
			continue
		}
		if n.listDials >= maxListDials {
			n.log.Debug("too many peer-list dials in flight; skipping", "remote", k.String())
			continue
		}
		n.listDials++
		n.wg.Go(func() {
			if err := n.join(n.ctx, k, false); err != nil {
				n.log.Debug("cannot reach remote from peer list", "remote", k.String(), "err", err)
			}
			n.mu.Lock()
			n.listDials--
			n.notifyLocked()
			n.mu.Unlock()
		})
	}
	return nil
}

// removeLocked unregisters p if it is the registered connection for its
// remote, and reports whether it was. n.mu must be held.
func (n *Node) removeLocked(p *peer) bool {
	cur := *n.remotes.Load()
	if cur[p.key] != p {
		return false
	}
	next := maps.Clone(cur)
	delete(next, p.key)
	n.remotes.Store(&next)
	if !p.listed {
		n.unlisted--
	}
	n.notifyLocked()
	n.events.push(event{remote: p.remote, remotes: next})
	return true
}

// departure records a graceful leave: when, and by which node instance.
type departure struct {
	at    time.Time
	nonce string
}

// markLeft remembers that k, the instance with nonce if known, left
// gracefully, so that stale peer lists do not bring it back. n.mu must be
// held.
func (n *Node) markLeft(k netip.AddrPort, nonce []byte) {
	delete(n.retry, k)
	if len(n.left) >= maxLeft {
		oldest := k
		for a, d := range n.left {
			if oldest == k || d.at.Before(n.left[oldest].at) {
				oldest = a
			}
		}
		delete(n.left, oldest)
	}
	n.left[k] = departure{at: time.Now(), nonce: string(nonce)}
}

// drop removes a remote whose connection failed and keeps retrying it.
func (n *Node) drop(p *peer, err error) {
	p.mu.Lock()
	leaving := p.leaving
	p.mu.Unlock()
	if leaving {
		// A goodbye is under way; whoever started it finishes it.
		p.shutdown()
		return
	}
	n.mu.Lock()
	removed := n.removeLocked(p)
	if removed && !n.closed {
		n.retry[p.key] = struct{}{}
	}
	n.mu.Unlock()
	p.shutdown()
	if !removed {
		return
	}
	var pe protocolError
	if errors.As(err, &pe) {
		n.log.Warn("dropping remote: bad input", "remote", p.key.String(), "err", err)
	} else {
		n.log.Debug("remote lost", "remote", p.key.String(), "err", err)
	}
}

// CloseRemote gracefully closes a connection with the remote specified. No
// automatic reconnection will be made.
//
// The remote is told, removes this node and does not reconnect either. Stale
// peer lists do not bring it back; Add does. CloseRemote waits for the remote
// to acknowledge, at most the network timeout.
func (n *Node) CloseRemote(r Remote) {
	k := r.key()
	n.mu.Lock()
	p := (*n.remotes.Load())[k]
	var nonce []byte
	if p != nil {
		nonce = p.nonce
	}
	n.markLeft(k, nonce)
	n.mu.Unlock()
	if p != nil {
		n.leave(p)
	}
}

// leave says goodbye to p and waits for the acknowledgement.
func (n *Node) leave(p *peer) {
	n.retire(p, "remote closed")
	p.mu.Lock()
	if p.leaving {
		p.mu.Unlock()
		return
	}
	p.leaving = true
	p.appendControl(wire.KindBye, nil)
	p.mu.Unlock()
	p.signal()
	t := time.NewTimer(n.networkTimeout())
	select {
	case <-p.acked:
	case <-p.done:
	case <-t.C:
		n.log.Debug("remote did not acknowledge goodbye", "remote", p.key.String())
	}
	t.Stop()
	p.shutdown()
}

// retire removes p's remote as one that left gracefully: never redialled.
func (n *Node) retire(p *peer, event string) {
	n.mu.Lock()
	if n.removeLocked(p) {
		n.log.Debug(event, "remote", p.key.String())
	}
	n.markLeft(p.key, p.nonce)
	n.mu.Unlock()
}

// farewell handles a goodbye from p's remote: remove it, acknowledge, close.
func (n *Node) farewell(p *peer) {
	n.retire(p, "remote left")
	p.mu.Lock()
	if p.leaving {
		// Both sides said goodbye at once: theirs acknowledges ours.
		p.mu.Unlock()
		close(p.acked)
		return
	}
	p.leaving, p.last = true, true
	p.appendControl(wire.KindByeAck, nil)
	p.mu.Unlock()
	p.signal()
}

// Remotes returns a slice of all remotes known by the node, sorted by
// address. The slice is the caller's.
func (n *Node) Remotes() []Remote { return remoteList(*n.remotes.Load()) }

func remoteList(m map[netip.AddrPort]*peer) []Remote {
	keys := slices.SortedFunc(maps.Keys(m), compareKeys)
	rs := make([]Remote, len(keys))
	for i, k := range keys {
		rs[i] = remoteOf(k)
	}
	return rs
}

// snapshot returns the connected peers. n.mu must be held.
func (n *Node) snapshot() []*peer {
	return slices.Collect(maps.Values(*n.remotes.Load()))
}
