package cluster

import (
	"bytes"
	"log/slog"
	"time"

	"github.com/peerweave/peerweave/internal/simhook"
)

// Defaults of a node's settings.
const (
	DefaultHealthyInterval   = 30 * time.Second
	DefaultNetworkTimeout    = 10 * time.Second
	DefaultReconnectInterval = 5 * time.Minute
	DefaultMaxMessageSize    = 16 << 20 // bytes
	DefaultInboxSize         = 1024     // messages
	DefaultSendQueueSize     = 1 << 20  // bytes per remote
	DefaultReceiveWindow     = 1 << 20  // bytes per remote
)

// An Option configures a node created by NewNode. Every setting of a node is
// an Option, the callbacks included, so that a node is whole from the moment
// it listens; the Set methods and callback setters of Node change a running
// node.
type Option func(*config)

type config struct {
	transport     Transport
	codec         Codec
	logger        *slog.Logger
	debug         bool
	maxMessage    int
	inboxSize     int
	sendQueueSize int
	window        int
	secret        []byte
	healthy       time.Duration
	timeout       time.Duration
	reconnect     time.Duration
	added         func(Remote)
	removed       func(Remote)
	changed       func([]Remote)

	// Rolling upgrades and secret rotation (the upgrade task).
	minVersion, maxVersion uint8      // the protocol versions the node speaks; other than wire.MinVersion and wire.Version only in tests
	extension              *extension // what a later release adds to the protocol; set only by tests
	accepted               [][]byte   // secrets accepted besides secret (WithSecrets)

	// Identity (identity.go): who the node is to its peers.
	name        string
	label       string
	advertise   string
	tags        map[string]string
	maxTags     int
	tagsChanged func(Remote, map[string]string)

	// Events (observe.go).
	observers []Observer

	// Requests (request.go).
	handler     RequestHandler
	concurrency int

	// The delivery path of handler.go: nil for Inbox.
	messageHandler func(from Remote, payload []byte)

	// The simulator's seeded source of random choices (sim_hooks.go); nil
	// outside it.
	rand simhook.Rand
}

// WithTransport makes the node use t instead of TCP.
func WithTransport(t Transport) Option { return func(c *config) { c.transport = t } }

// WithCodec makes the node encode its control messages with c instead of gob.
// Every node of a cluster must use the same codec.
func WithCodec(c Codec) Option { return func(cfg *config) { cfg.codec = c } }

// WithLogger sends the node's logs to l. Without it the node logs warnings
// and errors to stderr, and debug output too with WithDebug or once
// SetDebug(true) is called; with it, l's handler decides what is written and
// WithDebug and SetDebug have no effect.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithDebug makes the node's default logger write debug output to stderr
// from the start, as SetDebug(true) does later.
func WithDebug() Option { return func(c *config) { c.debug = true } }

// WithHealthyInterval sets how often the node checks the health of its
// remotes (default DefaultHealthyInterval); see SetHealthyInterval.
func WithHealthyInterval(d time.Duration) Option { return func(c *config) { c.healthy = d } }

// WithNetworkTimeout sets how long the node waits for the network (default
// DefaultNetworkTimeout); see SetNetworkTimeout.
func WithNetworkTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithReconnectInterval sets how often the node redials the remotes it lost
// ungracefully (default DefaultReconnectInterval); see SetReconnectInterval.
func WithReconnectInterval(d time.Duration) Option { return func(c *config) { c.reconnect = d } }

// WithRemoteAdded makes f the node's RemoteAdded callback from the start, so
// that it hears of every remote, even one that connects before NewNode
// returns.
func WithRemoteAdded(f func(r Remote)) Option { return func(c *config) { c.added = f } }

// WithRemoteRemoved makes f the node's RemoteRemoved callback from the start.
func WithRemoteRemoved(f func(r Remote)) Option { return func(c *config) { c.removed = f } }

// WithRemoteChanged makes f the node's RemoteChanged callback from the start.
func WithRemoteChanged(f func(rs []Remote)) Option { return func(c *config) { c.changed = f } }

// WithMaxMessageSize sets the largest payload, in bytes, the node sends or
// accepts (default DefaultMaxMessageSize). A peer that sends a larger frame
// is disconnected. Every node of a cluster should use the same limit. It
// also sizes the node's budget for payloads under way beyond the receive
// windows, four of these messages for all remotes together (see Limits in
// the package documentation).
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMessage = n } }

// WithInboxSize sets the capacity of the node's Inbox channel (default
// DefaultInboxSize).
func WithInboxSize(n int) Option { return func(c *config) { c.inboxSize = n } }

// WithSendQueueSize sets how many bytes of messages may wait to be written to
// one remote (default DefaultSendQueueSize). The queue is counted in bytes,
// payloads and their frame headers, not in messages: a queue of 64 KiB holds
// about sixty-four 1 KiB messages, or one of 64 KiB. Send blocks while the
// queue is full. A single message larger than the queue is still accepted
// once the queue is empty.
func WithSendQueueSize(n int) Option { return func(c *config) { c.sendQueueSize = n } }

// WithReceiveWindow sets how many bytes of messages each remote may send this
// node that its application has not yet taken from Inbox (default
// DefaultReceiveWindow; at least 64 KiB; 0 means the default). Each message
// (a Send's, a request, a reply) counts its payload plus an overhead of 256
// bytes, about what the node spends on a message besides its payload, so
// that empty messages fill the window too; the window is larger by one
// overhead, so that a payload of 64 KiB fits the smallest. (Remotes of
// protocol version 3, before the overhead, count payload bytes only.)
// Messages that arrive while Inbox is full wait in the node, and their
// remote, once it has sent a window's worth, waits too: its Sends block and
// then fail with ErrTimeout, and nobody is removed. A payload larger than
// the window still crosses it, a fragment at a time, so a node's memory for
// a remote's messages not yet in Inbox is at most the window (plus one
// overhead) plus one payload of the maximum message size.
func WithReceiveWindow(n int) Option { return func(c *config) { c.window = n } }

// WithSecret makes the node encrypt every connection with TLS 1.3, whatever
// the transport, and admit only peers that prove they know secret, proving
// it to them in turn. The proofs are HMAC-SHA256 under a key derived from the
// secret, bound to the TLS session, so the secret never crosses the wire and
// a proof is worthless on any other connection. A peer without the secret is
// refused before it learns any name, label, tag or address of the cluster.
// Every node of a cluster needs the same secret, of at least MinSecretSize
// bytes (else NewNode fails with ErrShortSecret): make one with NewSecret.
// The package documentation's Security section says what it protects.
func WithSecret(secret []byte) Option {
	return func(c *config) { c.secret, c.accepted = bytes.Clone(secret), nil }
}
