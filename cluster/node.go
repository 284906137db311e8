package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/internal/addr"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/tcp"
)

// Node corresponds to a single local entity in a cluster. Messages sent to
// this node must be retrieved by reading from the Inbox channel.
//
// A node reads from its remotes all the time, whatever the application does
// with Inbox. Messages that arrive while Inbox is full wait in the node, in
// order, up to the window it grants each remote (WithReceiveWindow) and one
// large payload; a remote that has sent that much waits too, its Sends
// failing with ErrTimeout, until the application reads again. Nobody is
// removed for it, and nothing a Send accepted is lost.
//
// There is no restriction on the number of nodes that may exist in a single
// program. All methods are safe for concurrent use.
type Node struct {
	// Inbox receives every message sent to this node. Close closes it, so
	// that ranging over it ends.
	Inbox chan *Message

	cfg      config
	log      *slog.Logger
	level    *slog.LevelVar // level of the default logger; nil with WithLogger
	ln       net.Listener
	self     netip.AddrPort // listen address
	nonce    []byte         // random, identifies this node instance in hellos
	preamble []byte
	keys     atomic.Pointer[keyring] // the secrets; SetSecrets replaces them
	tls      *tls.Config             // with a secret: TLS on every connection (secure.go)

	healthy   atomic.Int64 // time.Duration
	timeout   atomic.Int64 // time.Duration
	reconnect atomic.Int64 // time.Duration
	retuneHealth,
	retuneReconnect chan struct{} // capacity 1: an interval changed

	// ctx is cancelled when Close starts, once the node is closing
	// (nodestate.go): it cancels the work under way.
	ctx    context.Context
	cancel context.CancelFunc
	wg     group // every goroutine of the node except the event dispatcher (hooks.go)
	gate   gate  // the handshakes of connections not yet admitted (gate.go)

	// membership holds the node lock, and the remotes, dials and
	// departures it guards (membership.go).
	membership
	// work counts what joining the mesh cost the node (joinwork.go).
	work joinWork
	// fwd gathers the addresses of new list remotes for the join remotes
	// (peerlist.go).
	fwd forwards
	// backlog holds the peers whose messages wait for room in Inbox.
	backlog backlog
	grantAt int // see grantAt
	// asm bounds the fragmented payloads held beyond the windows (assembly.go).
	asm assembly

	// Safe for concurrent use on their own.
	events    events
	closeOnce sync.Once
	shutDown  chan struct{} // closed when Close has done all but wait for the goroutines

	id identity // name, advertised address and tags (identity.go)

	// Events and statistics (observe.go, stats.go): set by NewNode, then
	// safe for concurrent use.
	logs     logObserver
	observer Observer // the WithObserver observers, or nil
	stats    nodeStats

	conv conversations // requests this node made and answers (request.go)
}

// New creates a new Node that can be used immediately. In order to
// communicate with other nodes, remotes must be added with the Add method.
//
// The local address should be of the form "host:port". If the port is 0,
// then one will be chosen for you automatically. The chosen port can be
// accessed with the Addr method.
//
// The node talks TCP and encodes its control messages with encoding/gob;
// NewNode configures the rest.
func New(laddr string) (*Node, error) {
	return NewNode(laddr)
}

// NewNode creates a node listening on laddr, configured by opts. Without
// options it is the node New returns.
func NewNode(laddr string, opts ...Option) (*Node, error) {
	cfg := config{
		transport:     tcp.New(),
		codec:         gob.Codec{},
		maxMessage:    DefaultMaxMessageSize,
		inboxSize:     DefaultInboxSize,
		sendQueueSize: DefaultSendQueueSize,
		healthy:       DefaultHealthyInterval,
		timeout:       DefaultNetworkTimeout,
		reconnect:     DefaultReconnectInterval,
		name:          randomName(),
		minVersion:    wire.MinVersion,
		maxVersion:    wire.Version,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.window == 0 {
		cfg.window = DefaultReceiveWindow
	}
	ln, err := cfg.transport.Listen(laddr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", laddr, err)
	}
	self, err := addr.Of(ln.Addr())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cluster: listener address %s is not ip:port: %w", ln.Addr(), err)
	}
	n := &Node{
		Inbox:           make(chan *Message, cfg.inboxSize),
		cfg:             cfg,
		ln:              ln,
		self:            self,
		nonce:           make([]byte, 16),
		preamble:        cfg.speaks().Append(nil),
		retuneHealth:    make(chan struct{}, 1),
		retuneReconnect: make(chan struct{}, 1),
		shutDown:        make(chan struct{}),
		backlog:         backlog{wake: make(chan struct{}, 1)},
		gate:            gate{wake: make(chan struct{}, 1)},
		grantAt:         grantAt(cfg.window),
		asm:             newAssembly(cfg.maxMessage),
	}
	n.readRandom(n.nonce)
	n.keys.Store(newKeyring(cfg.secret, cfg.accepted))
	if cfg.secret != nil {
		if n.tls, err = newSecureConfig(); err != nil {
			ln.Close()
			return nil, err
		}
	}
	n.conv.init(&cfg)
	n.log = cfg.logger
	if n.log == nil {
		n.level = new(slog.LevelVar)
		n.level.Set(slog.LevelWarn)
		if cfg.debug {
			n.level.Set(slog.LevelDebug)
		}
		n.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: n.level}))
	}
	n.log = n.log.With("node", self.String())
	n.logs, n.observer = logObserver{n.log}, newObserver(cfg.observers)
	n.healthy.Store(int64(cfg.healthy))
	n.timeout.Store(int64(cfg.timeout))
	n.reconnect.Store(int64(cfg.reconnect))
	n.initIdentity()
	n.initMembership(n.nonce, n.id.name, &n.events)
	n.fwd.init()
	n.RemoteAdded(cfg.added)
	n.RemoteRemoved(cfg.removed)
	n.RemoteChanged(cfg.changed)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.events.start()
	n.wg.Add(3)
	go n.acceptLoop()
	go n.healthLoop()
	go n.reconnectLoop()
	n.wg.Go(n.deliverLoop)
	n.wg.Go(n.forwardLoop)
	return n, nil
}

func (c *config) check() error {
	switch {
	case c.transport == nil:
		return fmt.Errorf("cluster: nil transport")
	case c.codec == nil:
		return fmt.Errorf("cluster: nil codec")
	case len(c.codec.Name()) == 0 || len(c.codec.Name()) > wire.MaxCodecName:
		return fmt.Errorf("cluster: codec name %q must be 1 to %d bytes", c.codec.Name(), wire.MaxCodecName)
	case c.maxMessage <= 0 || c.maxMessage > 1<<31:
		return fmt.Errorf("cluster: max message size %d out of range", c.maxMessage)
	case c.inboxSize < 0:
		return fmt.Errorf("cluster: negative inbox size %d", c.inboxSize)
	case c.window != 0 && (c.window < wire.InitialWindow || c.window > maxWindow):
		return fmt.Errorf("cluster: receive window %d must be from %d to %d", c.window, wire.InitialWindow, maxWindow)
	case c.sendQueueSize <= 0:
		return fmt.Errorf("cluster: send queue size %d must be positive", c.sendQueueSize)
	case c.healthy <= 0 || c.timeout <= 0 || c.reconnect <= 0:
		return fmt.Errorf("cluster: intervals must be positive (healthy %v, timeout %v, reconnect %v)", c.healthy, c.timeout, c.reconnect)
	}
	if err := c.checkIdentity(); err != nil {
		return err
	}
	return checkSecrets(c.secret, c.accepted)
}

// Done returns a channel that is closed when Close begins, so that work
// serving the node, such as a discovery loop, can stop with it.
func (n *Node) Done() <-chan struct{} { return n.ctx.Done() }

// Addr returns the IP and port the node listens on, whatever its transport,
// as a *net.TCPAddr that is the caller's to keep or change. Other nodes know
// the node by this address, unless it has an advertised address
// (WithAdvertiseAddr), which they know it by instead, or its IP is
// unspecified (0.0.0.0 or ::): then each knows it by the IP it connected
// from. Self returns the Remote that the others know the node by.
func (n *Node) Addr() *net.TCPAddr { return net.TCPAddrFromAddrPort(n.self) }

// String returns the node's listen address.
func (n *Node) String() string { return n.self.String() }

// SetDebug, when on is true, makes the node log connection events at debug
// level to stderr. It has no effect on a node created WithLogger.
func (n *Node) SetDebug(on bool) {
	if n.level == nil {
		return
	}
	if on {
		n.level.Set(slog.LevelDebug)
	} else {
		n.level.Set(slog.LevelWarn)
	}
}

// SetHealthyInterval specifies how often the health of all remotes known by
// this node is checked. If a remote cannot receive a message, then it is
// ungracefully removed from known remotes. The default interval is 30
// seconds. A remote that sends nothing, not even the answer to a health
// check, for the healthy interval plus the network timeout is removed.
// Non-positive values are ignored.
func (n *Node) SetHealthyInterval(d time.Duration) { n.set(&n.healthy, d, n.retuneHealth) }

// SetNetworkTimeout specifies how long the node waits on the network before
// it gives up: a connection that makes no progress with a write for that
// long, a handshake and so Add, a Send waiting for queue space (which then
// fails with ErrTimeout), and each goodbye of Close and CloseRemote. A remote
// whose connection makes no progress is ungracefully removed from known
// remotes, as is one that sends nothing for the healthy interval plus the
// network timeout. It bounds waiting, not transfers: a large payload on a
// slow link that keeps moving takes as long as it takes. The default is 10
// seconds. Non-positive values are ignored.
func (n *Node) SetNetworkTimeout(d time.Duration) { n.set(&n.timeout, d, nil) }

// SetReconnectInterval specifies the interval at which reconnection is
// attempted with disconnected remotes. The default interval is 5 minutes.
//
// Note that reconnection only applies to remotes that were ungracefully
// disconnected from the cluster. A graceful disconnection can only happen by
// calling Close or CloseRemote. Non-positive values are ignored.
func (n *Node) SetReconnectInterval(d time.Duration) { n.set(&n.reconnect, d, n.retuneReconnect) }

func (n *Node) set(v *atomic.Int64, d time.Duration, retune chan struct{}) {
	if d <= 0 {
		return
	}
	v.Store(int64(d))
	if retune != nil {
		select {
		case retune <- struct{}{}:
		default:
		}
	}
}

func (n *Node) networkTimeout() time.Duration { return time.Duration(n.timeout.Load()) }

// silenceLimit is how long a remote may send nothing before it is dropped:
// we ping it every healthy interval and it answers within the timeout.
func (n *Node) silenceLimit() time.Duration {
	return time.Duration(n.healthy.Load()) + n.networkTimeout()
}

// Close gracefully shuts down this node from the cluster and returns only
// after all goroutines associated with the node have stopped, but those
// that run a hook it does not wait for (see below). Other nodes
// will not attempt reconnection.
//
// Close says goodbye to every remote at once and waits for each to
// acknowledge: at most the network timeout, or longer while that remote's
// link still takes what was written to it (see CloseRemote); RemoteRemoved
// fires for each.
// Messages that arrive while it does so are discarded. Close then closes
// Inbox and waits for the callbacks of every event before it to return. It
// is safe to call more than once; every call returns once the node is shut
// down.
//
// Close does not wait for a hook (a membership callback, an Observer, the
// message handler or a request handler) that was running when it was
// called, so that any hook, of this node or another, may call it; it waits
// for everything else, the hooks that started since included, and no hook
// starts once it has returned. A goroutine of the node that runs a hook
// Close did not wait for ends on its own when the hook returns; until then,
// Inbox may still be open, and the callbacks queued behind such a callback
// are not called.
func (n *Node) Close() {
	n.closeOnce.Do(func() { go n.shutdown() })
	n.awaitStopped()
}

// shutdown closes the node on a goroutine of its own, so that a Close from
// a hook can return before the hook has (awaitStopped). Close waits for it
// through events.done, which closes only after stop, unless a hook Close
// does not wait for holds it up: it then ends on its own once the hook
// returns.
func (n *Node) shutdown() {
	n.beginClose()
	n.cancel()
	n.ln.Close()
	for _, p := range n.remotes.peers() {
		n.wg.Go(func() { n.leave(p) })
	}
	close(n.shutDown)
	n.wg.Wait()
	n.endClose()
	close(n.Inbox)
	n.events.stop()
}
