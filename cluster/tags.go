package cluster

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// Tags are a node's metadata: string keys and values that every remote can
// read (Info) and that follow each change (SetTags), as serf's tags and
// memberlist's node meta do.

// DefaultMaxTagsSize is the default limit of a node's tags, in bytes of keys
// and values (see WithMaxTagsSize).
const DefaultMaxTagsSize = 16 << 10

// maxTagsLimit is the highest tags limit a node takes: a hello that carries
// tags of the limit may be several times its size (see tagsFrameLimit).
const maxTagsLimit = 1 << 20

// WithTags gives the node tags from the start, carried in its hello to every
// node it meets. SetTags changes them later. NewNode fails with
// ErrTagsTooLarge for tags over the node's limit.
func WithTags(tags map[string]string) Option {
	return func(c *config) { c.tags = maps.Clone(tags) }
}

// WithMaxTagsSize sets the limit of tags, counted as the bytes of their keys
// and values (default DefaultMaxTagsSize, 16 KiB; at most 1 MiB; 0 means the
// default). It bounds both the node's own tags (SetTags fails with
// ErrTagsTooLarge past it) and those a peer may send: a peer whose tags are
// larger is dropped, with a warning. Every node of a cluster should use the
// same limit.
func WithMaxTagsSize(n int) Option { return func(c *config) { c.maxTags = n } }

// WithRemoteTagsChanged makes f the node's RemoteTagsChanged callback from
// the start.
func WithRemoteTagsChanged(f func(r Remote, tags map[string]string)) Option {
	return func(c *config) { c.tagsChanged = f }
}

// RemoteTagsChanged sets f to be called with a remote and its new tags each
// time the remote changes them; the map is the callback's. The tags a remote
// has when it connects come with it: Info returns them from its RemoteAdded
// on, and f hears only of later changes. f runs as the membership callbacks
// do (see RemoteAdded), in order with them: after the remote's RemoteAdded
// and before its RemoteRemoved. Tags that a newer change replaced before
// f was called for them are skipped: f always gets a remote's newest tags,
// in the order of their versions, but not every version, so that a remote
// that changes its tags faster than f runs cannot hold up the other
// callbacks. It replaces any function set before; nil removes it.
func (n *Node) RemoteTagsChanged(f func(r Remote, tags map[string]string)) {
	n.events.tagsChanged.Store(&f)
}

// SetTags replaces the node's tags with tags, a copy of which goes to every
// remote at once and to every node met later. It fails with
// ErrTagsTooLarge, and changes nothing, if the tags exceed the node's limit
// (WithMaxTagsSize), and with ErrClosed once the node is closing.
func (n *Node) SetTags(tags map[string]string) error {
	if size := tagsSize(tags); size > n.cfg.maxTags {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrTagsTooLarge, size, n.cfg.maxTags)
	}
	if n.closing() {
		return ErrClosed
	}
	n.id.mu.Lock()
	n.id.own = &tagSet{version: n.id.own.version + 1, m: maps.Clone(tags)}
	n.id.mu.Unlock()
	n.remotes.each((*peer).queueTags)
	return nil
}

// Tags returns the node's own tags; the map is the caller's.
func (n *Node) Tags() map[string]string {
	n.id.mu.Lock()
	defer n.id.mu.Unlock()
	return maps.Clone(n.id.own.m)
}

// tagSet is one version of a node's tags. It is never changed once shared.
type tagSet struct {
	version uint64
	m       map[string]string
}

// tagsSize is the size of tags against the limit: the bytes of keys and
// values.
func tagsSize(tags map[string]string) int {
	size := 0
	for k, v := range tags {
		size += len(k) + len(v)
	}
	return size
}

// pairs returns the wire form of t's tags: keys and values in turn, sorted
// by key.
func (t *tagSet) pairs() []string {
	keys := slices.Sorted(maps.Keys(t.m))
	s := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		s = append(s, k, t.m[k])
	}
	return s
}

// ownTags returns the node's tags in wire form, and their version.
func (n *Node) ownTags() ([]string, uint64) {
	n.id.mu.Lock()
	own := n.id.own
	n.id.mu.Unlock()
	return own.pairs(), own.version
}

// parseTags checks tags in wire form from a peer and returns them as a map.
func (n *Node) parseTags(pairs []string) (map[string]string, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("tags of %d strings, not pairs", len(pairs))
	}
	size := 0
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, v := pairs[i], pairs[i+1]
		if i > 0 && k <= pairs[i-2] {
			return nil, fmt.Errorf("tag keys out of order at %q", k)
		}
		if size += len(k) + len(v); size > n.cfg.maxTags {
			return nil, fmt.Errorf("tags of more than %d bytes: %w", n.cfg.maxTags, ErrTagsTooLarge)
		}
		m[k] = v
	}
	return m, nil
}

// maxTagsFrames bounds the tags frames a remote may send in one healthy
// interval: past it, the node drops the remote as one that breaks the
// protocol. The node's callbacks see each remote's newest tags only
// (events.go), so a flood costs the node the frames' decoding, which this
// bounds. An honest node sends a frame per SetTags.
const maxTagsFrames = 1024

// rateCount counts events in intervals, for a limit of events per interval.
type rateCount struct {
	since time.Time
	count int
}

// allow counts an event at now and reports whether it is within limit for
// the interval d that it falls in.
func (r *rateCount) allow(now time.Time, d time.Duration, limit int) bool {
	if now.Sub(r.since) >= d {
		r.since, r.count = now, 0
	}
	r.count++
	return r.count <= limit
}

// tagsFrameLimit bounds the body of a hello or tags frame: the encoding of
// tags at the limit, and of the rest of a hello. A codec spends a few bytes
// on each string, so tags of one-byte keys and empty values take about
// three times their size.
func (n *Node) tagsFrameLimit() int { return maxHandshakeFrame + 4*n.cfg.maxTags }

// queueTags queues the node's current tags for p if p has not had them
// yet: SetTags calls it for every remote, and admit for a remote just
// registered, for tags that SetTags changed while it was being admitted.
func (p *peer) queueTags() {
	p.mu.Lock()
	p.queueTagsLocked()
	p.mu.Unlock()
}

// queueTagsLocked queues the node's current tags for p, encoded with p's
// encoder, if p has not had them yet, and reports whether it did. The
// version p was last sent makes SetTags and admit, which both call it, send
// each version once, and in order. p.mu must be held.
func (p *peer) queueTagsLocked() bool {
	if p.leaving() {
		return false
	}
	n := p.n
	n.id.mu.Lock()
	own := n.id.own
	n.id.mu.Unlock()
	if own.version <= p.sentTags {
		return false
	}
	if err := p.appendControl(wire.KindTags, &wire.TagsUpdate{Version: own.version, Tags: own.pairs()}); err != nil {
		n.log.Error("cannot encode tags", "remote", p.key.String(), "err", err)
		return false
	}
	p.sentTags = own.version
	return true
}

// readTags reads the body of a tags frame, at most tagsFrameLimit, and
// takes the tags it carries if they are newer than those p's remote sent
// before.
func (p *peer) readTags(body []byte) error {
	n := p.n
	var u wire.TagsUpdate
	if err := p.decode(body, &u); err != nil {
		return err
	}
	if !p.tagsRate.allow(time.Now(), time.Duration(n.healthy.Load()), maxTagsFrames) {
		return protocolError{fmt.Errorf("more than %d tags frames in a healthy interval", maxTagsFrames)}
	}
	m, err := n.parseTags(u.Tags)
	if err != nil {
		return protocolError{err}
	}
	n.tagged(p, u.Version, m)
	return nil
}
