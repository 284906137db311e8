package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// A stranger's hello may carry tags, and so be up to tagsFrameLimit: 68
// KiB at the default tags limit, 4 MiB at the largest. The gate's slots
// alone would let strangers make the node hold that many hellos at once,
// 256 MiB. So a hello of more than maxHandshakeFrame (4 KiB) is read only
// once there is room for it in a node-wide budget (helloRoom), of which
// one source takes at most a quarter, or one hello; until then it waits,
// within its handshake timeout, its bytes unread.

// helloRoom is the budget of the bytes of large hellos that the node reads
// at once: 4 MiB, or two hellos of the largest size if that is more.
func (n *Node) helloRoom() int { return max(4<<20, 2*n.tagsFrameLimit()) }

// errNoHelloRoom is the cause of a handshake whose large hello found no
// room within its handshake timeout.
var errNoHelloRoom = fmt.Errorf("%w: no room to read a large hello: %w", ErrBusy, ErrTimeout)

// helloBudget counts the bytes of large hellos being read.
type helloBudget struct {
	mu      sync.Mutex // guards the fields below
	used    int
	sources map[netip.Prefix]int // bytes in use by source
	// freed is closed, and replaced, when bytes are given back.
	freed chan struct{}
}

// take takes size bytes for src if there is room, of room in all: else it
// returns a channel closed when room may have been freed.
func (b *helloBudget) take(src netip.Prefix, size, room int) (ok bool, freed <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	mine := b.sources[src]
	if b.used+size <= room && (mine == 0 || mine+size <= room/4) {
		if b.sources == nil {
			b.sources = make(map[netip.Prefix]int)
		}
		b.used += size
		b.sources[src] = mine + size
		return true, nil
	}
	if b.freed == nil {
		b.freed = make(chan struct{})
	}
	return false, b.freed
}

// give gives back size bytes that src took.
func (b *helloBudget) give(src netip.Prefix, size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= size
	if b.sources[src] -= size; b.sources[src] == 0 {
		delete(b.sources, src)
	}
	if b.freed != nil {
		close(b.freed)
		b.freed = nil
	}
}

// helloSize returns the size of the body of the frame due next on p, if it
// is a hello, or 0; it waits for the frame's header.
func (p *peer) helloSize() (int, error) {
	h, err := p.br.Peek(wire.HeaderSize)
	if err != nil {
		return 0, err
	}
	if hdr := wire.HeaderOf(h); hdr.Kind == wire.KindHello {
		return hdr.Size, nil
	}
	return 0, nil // readHello says what is wrong
}

// roomForHello waits, until deadline, for room to read a hello of size
// bytes from conn's source if it is larger than maxHandshakeFrame, and
// returns the function that gives it back.
func (n *Node) roomForHello(conn net.Conn, size int, deadline time.Time) (give func(), err error) {
	if size <= maxHandshakeFrame || size > n.tagsFrameLimit() {
		return func() {}, nil // small, or readHello refuses it
	}
	src := sourceOf(conn)
	var expired <-chan time.Time
	for {
		ok, freed := n.gate.hellos.take(src, size, n.helloRoom())
		if ok {
			return func() { n.gate.hellos.give(src, size) }, nil
		}
		if expired == nil {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-freed:
		case <-expired:
			return nil, errNoHelloRoom
		case <-n.ctx.Done():
			return nil, ErrClosed
		}
	}
}
