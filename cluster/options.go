package cluster

import (
	"bytes"
	"log/slog"
	"time"
)

// Defaults of a node's settings.
const (
	DefaultHealthyInterval   = 30 * time.Second
	DefaultNetworkTimeout    = 10 * time.Second
	DefaultReconnectInterval = 5 * time.Minute
	DefaultMaxMessageSize    = 16 << 20 // bytes
	DefaultInboxSize         = 1024     // messages
	DefaultSendQueueSize     = 1 << 20  // bytes per remote
)

// An Option configures a node created by NewNode.
type Option func(*config)

type config struct {
	transport     Transport
	codec         Codec
	logger        *slog.Logger
	maxMessage    int
	inboxSize     int
	sendQueueSize int
	secret        []byte
}

// WithTransport makes the node use t instead of TCP.
func WithTransport(t Transport) Option { return func(c *config) { c.transport = t } }

// WithCodec makes the node encode its control messages with c instead of gob.
// Every node of a cluster must use the same codec.
func WithCodec(c Codec) Option { return func(cfg *config) { cfg.codec = c } }

// WithLogger sends the node's logs to l. Without it the node logs warnings
// and errors to stderr, and debug output too once SetDebug(true) is called;
// with it, l's handler decides what is written and SetDebug has no effect.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMaxMessageSize sets the largest payload, in bytes, the node sends or
// accepts (default DefaultMaxMessageSize). A peer that sends a larger frame
// is disconnected. Every node of a cluster should use the same limit.
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMessage = n } }

// WithInboxSize sets the capacity of the node's Inbox channel (default
// DefaultInboxSize).
func WithInboxSize(n int) Option { return func(c *config) { c.inboxSize = n } }

// WithSendQueueSize sets how many bytes of messages may wait to be written to
// one remote (default DefaultSendQueueSize). Send blocks while the queue is
// full. A single message larger than the queue is still accepted once the
// queue is empty.
func WithSendQueueSize(n int) Option { return func(c *config) { c.sendQueueSize = n } }

// WithSecret makes the node admit only peers that prove they know secret, and
// prove it to them in turn: both sides answer a fresh random challenge of the
// other with HMAC-SHA256 keyed with the secret, so the secret never crosses
// the wire and a recorded handshake cannot be replayed. A peer without the
// secret is refused before it learns any peer address or can send a message.
// Every node of a cluster needs the same secret; use at least 32 random
// bytes. It authenticates peers but does not encrypt traffic: for that, use
// a transport with TLS.
func WithSecret(secret []byte) Option {
	return func(c *config) { c.secret = bytes.Clone(secret) }
}
