// Package cluster keeps a set of peers connected to each other and lets them
// send each other messages directly. Add one peer and a node learns the whole
// cluster; a peer that dies is noticed by health checks and redialled until it
// answers again; a peer that leaves gracefully is let go for good.
//
// # Nodes
//
// A [Node] is one member of a cluster. It listens on one address from the
// moment [New] or [NewNode] returns, and that address is its name: the other
// nodes know it as a [Remote], the "ip:port" they dial it at. A node holds one
// connection to each of its remotes, so a cluster is a full mesh, and it puts
// every message they send it on its Inbox channel. A process may run any
// number of nodes, and every method of a Node is safe for concurrent use.
//
// New makes a node with every setting at its default: TCP, encoding/gob, the
// intervals of [DefaultHealthyInterval] and the other Default constants.
// NewNode takes [Option]s.
//
// # Quick start
//
//	a, err := cluster.New("127.0.0.1:0") // port 0 picks a free port: a.Addr() has it
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer a.Close()
//	b, err := cluster.New("127.0.0.1:0")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer b.Close()
//
//	// b joins a, and every node a knows.
//	if err := b.Add(a.String()); err != nil {
//		log.Fatal(err)
//	}
//	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
//	defer cancel()
//	if err := b.WaitMesh(ctx); err != nil {
//		log.Fatal(err)
//	}
//
//	if err := b.Send(cluster.Remote(*a.Addr()), []byte("hello")); err != nil {
//		log.Fatal(err)
//	}
//	m := <-a.Inbox // m.From is b's listen address
//	fmt.Printf("%s from %s\n", m.Payload, m.From)
//
// The examples run the same on the in-memory network of package
// transport/mem.
//
// # Joining
//
// [Node.Add] connects to the node at an address and returns once it is a
// remote. When two nodes connect, each sends the other the list of its other
// remotes, and each dials the addresses it did not know. Adding one peer of a
// cluster thus connects a node to all of it, and adding a peer of another
// cluster merges the two. Add does not wait for those further connections;
// [Node.WaitMesh] does. An address from a peer list that cannot be reached is
// not dialled again until another peer list names it.
//
// Two nodes that dial each other at the same moment keep one connection: the
// one dialled by the node with the lower random nonce, on both sides. Adding
// an address that is already a remote, or the node's own, returns nil and
// changes nothing. Add waits at most the network timeout; [Node.AddContext]
// also stops when its context ends.
//
// # Waiting for membership
//
// Connections are made and lost on the node's own goroutines, so code that
// needs a remote waits for it instead of polling [Node.Remotes].
// [Node.WaitMesh] returns once the node has joined every node it has heard
// of: each remote has sent its peer list, and each address in those lists is
// a remote or failed to connect. After b.Add(a.String()), b.WaitMesh returns
// once b is connected to every remote of a that it can reach. [Node.Wait] returns once a condition
// on the remotes holds; it checks the condition at once and again after every
// change of membership:
//
//	err := a.Wait(ctx, func(rs []cluster.Remote) bool {
//		return slices.ContainsFunc(rs, c.Equal) // c is a Remote
//	})
//
// Both fail with the context's error if it ends first, and with [ErrClosed]
// once the node closes. [Remote.Equal] compares addresses as the node does.
//
// # Health, ungraceful removal and redial
//
// Every healthy interval (default 30s) a node pings each remote, which
// answers. A remote that sends nothing at all for the healthy interval plus
// the network timeout (default 10s) is removed, and so is one whose
// connection fails or cannot take a write within the network timeout: a
// remote cut off without a word is removed within about the sum of the two.
// Such a removal is ungraceful: the node redials the remote every reconnect
// interval (default 5m) until it answers, and then it is a remote again and
// RemoteAdded fires. A node that restarts on the same address is a new
// instance, and replaces the old one.
//
// # Graceful leave
//
// [Node.Close] leaves every remote and [Node.CloseRemote] one, gracefully: the
// node removes the remote at once and tells it, the remote removes the node
// and acknowledges, and the node waits for that at most the network timeout.
// Neither side redials the other. A peer list that still names a node that
// left does not bring it back; [Node.Add], on either side, does. Close closes
// Inbox, so that ranging over it ends, and returns once every goroutine of
// the node has stopped and its last callback has run. It may be called more
// than once, but not from a callback.
//
// # Sending
//
// [Node.Send] queues a copy of the payload for the remote's connection and
// returns; one writer per connection writes whatever is queued in one call,
// so messages sent in a burst share system calls. [Node.Broadcast] sends to
// every remote. Messages from one node to another arrive in the order they
// were sent, and [Message.From] is the sender's listen address.
//
// A nil error means the payload was queued, not that it was delivered: if the
// connection breaks first, what it still held is lost (nothing is resent), the
// remote is removed and RemoteRemoved fires. Each remote's queue holds
// [WithSendQueueSize] bytes (default 1 MiB); when it is full, Send waits for
// room, at most the network timeout, then fails with [ErrTimeout], and
// [Node.SendContext] also stops when its context ends. Send fails with
// [ErrUnknownRemote] for an address that is not a remote, and with
// [ErrMessageTooLarge] for a payload over [WithMaxMessageSize] (default 16
// MiB).
//
// # Backpressure
//
// Messages wait in Inbox, a channel of [WithInboxSize] messages (default
// 1024). While it is full, each connection's reader waits at its next message
// until there is room: the message is held back, not dropped, and so is
// everything that remote sends after it, health checks included. The node
// does not drop the remote for that. The remote's Sends queue up, and fail
// with ErrTimeout once its queue stays full for the network timeout; once its
// writes to the connection have stalled for the network timeout (on TCP when
// the socket buffers are full, on transport/mem, which buffers nothing, at
// its next write), the remote removes the node ungracefully. Send, Broadcast,
// Close and the remotes with nothing to deliver carry on.
//
// # Callbacks
//
// [Node.RemoteAdded], [Node.RemoteRemoved] and [Node.RemoteChanged] report
// changes of membership; RemoteChanged gets the whole sorted list after the
// change. Callbacks run one at a time on one goroutine of the node, in the
// order the events happened: a remote's RemoteRemoved comes before its next
// RemoteAdded, and RemoteChanged follows each. They may call any method but
// Close; a slow one delays the callbacks after it, not the node.
//
// A node listens before New returns, so a remote may connect before a setter
// is called: a callback set with a setter hears only of the events delivered
// after it is set. [WithRemoteAdded], [WithRemoteRemoved] and
// [WithRemoteChanged] make them part of the node from the start, and miss
// nothing; the setters replace them on a running node, and nil removes one.
//
// # Configuration
//
// Every setting is an [Option] of NewNode, so that a node is whole from the
// moment it listens, and NewNode refuses a value out of range, such as an
// interval that is not positive:
//
//	n, err := cluster.NewNode("127.0.0.1:0",
//		cluster.WithHealthyInterval(time.Second),
//		cluster.WithNetworkTimeout(2*time.Second),
//		cluster.WithRemoteAdded(func(r cluster.Remote) { log.Printf("%s joined", r) }),
//	)
//
// [Node.SetHealthyInterval], [Node.SetNetworkTimeout],
// [Node.SetReconnectInterval] and [Node.SetDebug] change a running node (the
// interval setters ignore values that are not positive), as the callback
// setters do.
//
// # Transports and codecs
//
// A [Transport] opens the byte streams between nodes, and a [Codec] encodes
// the control messages they exchange (hellos, peer lists); payloads travel as
// the bytes they are. The defaults are TCP and encoding/gob; [WithTransport]
// and [WithCodec] plug in others. Package transport/tcp is TCP with options
// such as TLS, transport/quic runs over QUIC, transport/mem is an in-memory
// network for tests, and transport/fault wraps any transport to cut, delay or
// break traffic between chosen nodes; codec/gob and codec/msgpack are codecs.
//
//	n, err := cluster.NewNode("127.0.0.1:0",
//		cluster.WithTransport(tcp.New()),
//		cluster.WithCodec(msgpack.Codec{}),
//	)
//
// Every node of a cluster must use the same codec: nodes compare codec names
// and protocol versions when they connect and refuse a mismatch with
// [ErrIncompatible]. Packages transport/transporttest and codec/codectest
// check a transport or a codec of your own.
//
// # Security
//
// By default a node trusts its network: anyone who can reach it can join,
// learn every node's address and put messages in every Inbox, and nothing is
// encrypted. [WithSecret] makes the nodes of a cluster prove to each other
// that they know a shared secret before they admit each other; it does not
// encrypt. For that, use a transport with TLS, such as
// tcp.New(tcp.WithTLS(cfg)). The README's Security section says what each
// protects against.
//
// # Errors
//
// The errors callers branch on are sentinels, [ErrClosed], [ErrUnknownRemote],
// [ErrMessageTooLarge], [ErrTimeout], [ErrIncompatible], [ErrAuth] and
// [ErrRejected], wrapped with what failed, so test them with [errors.Is]:
//
//	if err := n.Send(r, data); errors.Is(err, cluster.ErrUnknownRemote) {
//		// r left or was never connected
//	}
//
// The methods that take a context, and Wait and WaitMesh, fail with an error
// that wraps the context's cause when it ends.
//
// # Logging
//
// A node logs through [log/slog]. By default it writes warnings and errors to
// stderr, and connection events too with [WithDebug] or after
// [Node.SetDebug](true). [WithLogger] sends every record to a logger of your
// own, whose handler decides what is written; WithDebug and SetDebug then do
// nothing. Every record carries the node's address as "node".
package cluster
