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
// remote, and this node one of the other's: when Add returns nil, each may
// Send to the other at once (the other's RemoteAdded callback may still be
// on its way). The two nodes then send each other the list of their other
// remotes, and each dials the addresses it did not know. Adding one peer of a
// cluster thus connects a node to all of it, and adding a peer of another
// cluster merges the two. Add does not wait for those further connections;
// [Node.WaitMesh] does. An address from a peer list whose dial times out is
// dialled twice more; one that refuses is not dialled again until another
// peer list names it. See Scale for what the lists cost.
//
// Two nodes that dial each other at the same moment keep one connection: a
// dial of Add or a redial wins over a dial to an address from a peer list,
// and of two alike, the one dialled by the node with the lower random nonce,
// on both sides. Adding
// an address that is already a remote, or the node's own, returns nil and
// changes nothing. Add waits at most the network timeout; [Node.AddContext]
// also stops when its context ends.
//
// # Waiting for membership
//
// Connections are made and lost on the node's own goroutines, so code that
// needs a remote waits for it instead of polling [Node.Remotes].
// [Node.WaitMesh] returns once the node has joined every node it has heard
// of: each remote it joined or that joined it has sent its peer list, and
// each address in those lists is a remote or failed to connect. After b.Add(a.String()), b.WaitMesh returns
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
// connection fails or makes no progress for the network timeout while the
// node has something to write to it: a remote cut off without a word is
// removed within about the sum of the two. Progress is the link's, not one
// write's: on a transport that reports its unacknowledged bytes (TCP on
// Linux and macOS) a write that waits on a full send buffer goes on while
// the network takes bytes. A slow link that keeps moving bytes keeps its
// remote, whatever the size of what crosses it: a payload over 64 KiB
// travels in fragments, and pings, answers and goodbyes go out between
// them.
// Such a removal is ungraceful: the node redials the remote every reconnect
// interval (default 5m), less often after failed redials, until it answers
// (if the node has reached it at that address itself: see Limits), and then it is a remote again and
// RemoteAdded fires. A node that restarts on the same address is a new
// instance, and replaces the old one once the old connection is found dead
// (at once if it failed, else after half the network timeout without an
// answer: see Security).
//
// # Graceful leave
//
// [Node.Close] leaves every remote and [Node.CloseRemote] one, gracefully: the
// node removes the remote at once, lets what is queued for it go out (for at
// most half the network timeout), tells it, and ends its side of the stream
// where the transport can (TCP's half-close); the remote removes the node,
// sends what it has queued for the node, and acknowledges; and the node reads
// on until that, within the network timeout, or for as long as a slow link
// keeps taking what the node wrote before its goodbye. What cannot go out in
// that time is discarded, with a warning. Neither side redials the other: a
// node refuses a redial from a remote it said goodbye to or was told goodbye
// by, and the redialler stops. A peer list that still names a node that left
// does not bring it back; [Node.Add], on either side, does. Close closes Inbox, so that ranging over it ends, and
// returns once every goroutine of the node has stopped and its last callback
// has run, but for a hook (a callback, an [Observer], a message or request
// handler) that was running when it was called: Close does not wait for
// one, so that any hook may call it, and no hook starts once it has
// returned. It may be called more than once.
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
// remote is removed, RemoteRemoved fires and a warning says how many messages
// were discarded. Each remote's queue holds [WithSendQueueSize] bytes (default
// 1 MiB), counted in bytes (payloads and frame headers), not in messages;
// when it is full, Send waits for room, at most the network timeout,
// then fails with [ErrTimeout], and [Node.SendContext] also stops when its
// context ends. Send fails with [ErrUnknownRemote] for an address that is not
// a remote, and with [ErrMessageTooLarge] for a payload over
// [WithMaxMessageSize] (default 16 MiB).
//
// # Backpressure
//
// Messages wait in Inbox, a channel of [WithInboxSize] messages (default
// 1024). A node reads every connection all the time, whatever the
// application does with Inbox, so health checks, peer lists and goodbyes are
// always handled. Each remote may send it as much as the window the node
// grants ([WithReceiveWindow], default 1 MiB) before the application takes
// its messages from Inbox, each message counting its payload plus 256 bytes
// of overhead, so that even empty messages cannot pile up past it; a
// payload larger than the window still crosses it, a fragment at a time.
// What arrives while
// Inbox is full waits in the node, in order. So an application that stops
// reading Inbox pauses the remotes that send to it: their queues fill, their
// Sends wait and fail with ErrTimeout, and nobody is removed; every message a
// Send accepted arrives, in order, once the application reads again. A
// node's memory for messages not yet in Inbox is at most the window for each
// remote, plus, in payloads that cross in fragments, four payloads of the
// maximum message size for all remotes together (64 MiB at the defaults; see
// Limits), of which one remote holds one at most.
//
// A remote whose window stays shut, with data waiting for it, for two
// healthy intervals plus the network timeout (70s at the defaults; whether
// its application stopped reading or it never opens its window at all) is
// suspended at the next health check it answers: an [EventSuspended] and a
// warning say so, once. While it is,
// [Node.Broadcast] does not wait for its queue (it queues if there is room,
// and otherwise fails for it at once, as does a wait for it that began
// before), [Node.Request] and [Node.Query] to it fail at once with
// [ErrStalled], and so do the requests that wait for its answer. Send still
// waits for room as above, and the remote is not removed. It is resumed,
// with an [EventResumed], as soon as its window opens again. So one slow or
// windowless remote delays neither Broadcast nor Query beyond that.
//
// # Requests, queries and typed values
//
// [Node.Request] sends a request to one remote and waits, under a context,
// for its answer; the remote's [RequestHandler], set with
// [WithRequestHandler] or [Node.SetRequestHandler], answers it with a reply
// or an error:
//
//	n, _ := cluster.NewNode(addr, cluster.WithRequestHandler(
//		func(ctx context.Context, req *cluster.Message) ([]byte, error) {
//			return lookup(req.Payload)
//		}))
//	reply, err := other.Request(ctx, cluster.Remote(*n.Addr()), []byte("key"))
//
// Requests and replies travel in the data stream of the connection, in order
// with ordinary messages (a Send and then a Request reach the remote in that
// order), and never appear in Inbox. A reply goes to its caller as soon as it
// arrives, even past messages sent before it that wait for room in Inbox, so
// that an application that reads Inbox itself cannot wait forever for its
// own answer; a request that waits for a handler holds up only the messages
// its remote sent after it. The node runs each handler on a
// goroutine of its own, at most [DefaultRequestConcurrency] at once
// ([WithRequestConcurrency]); the handler's context ends when the requester
// gives up on the request, is removed, or the node closes, and Close waits
// for the handlers, but not for one that was running when it was called
// ([Node.Close]). A Request fails, each way matchable with errors.Is or
// errors.As, with the context's error when ctx ends (the node forgets the
// request at once, tells the remote, and discards a late reply), a
// [*RemoteError] when the handler returned an error,
// [ErrNoHandler] at once when the remote has no handler, [ErrRemoteLeft]
// when the remote left gracefully, [ErrRemoteLost] when it was removed
// ungracefully, [ErrStalled] at once when the node suspended it because its
// window stays shut (see Backpressure), [ErrUnknownRemote] and [ErrClosed].
// A remote that never answers costs the caller only its context. Requests beyond the handler
// limit wait in the node and count against the sender's receive window, as
// messages do.
//
// [Node.Query] asks every remote, or the ones given, at once. Each gives one
// [Answer] on [Query.Answers] as it comes, with its reply or its error, and
// the query ends as soon as the last has answered, left or failed, or its
// context ends; [Query.Wait] collects the answers.
//
// Typed values travel in the node's codec, gob by default or msgpack with
// codec/msgpack, when the codec implements codec.Values: [SendValue] sends
// one, [Decode] turns a payload (from Inbox, a request or an Answer) back
// into a value, [RequestValue] makes a typed request and [HandleValue]
// makes a typed RequestHandler. A value the codec cannot encode fails with
// [ErrEncode], a payload that does not decode into the type asked for with
// [ErrDecode], and a codec without values with [ErrNoValues]. Each value
// decodes on its own, whatever came before it: a gob value is a gob stream
// of its own, its types' definitions included (codec/gob pools its encoders
// and decoders, so that they are compiled once per type); msgpack sends no
// type information.
//
// # Callbacks
//
// [Node.RemoteAdded], [Node.RemoteRemoved] and [Node.RemoteChanged] report
// changes of membership; RemoteChanged gets the whole sorted list after the
// change. Callbacks run one at a time on one goroutine of the node, in the
// order the events happened: a remote's RemoteRemoved comes before its next
// RemoteAdded, and RemoteChanged follows each. They may call any method,
// Close included; a slow one delays the callbacks after it, not the node.
// Close does not wait for a callback that was running when it was called,
// and does not call those queued behind it.
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
// and protocol versions when they connect and refuse another codec, or a
// peer with no version in common (see Rolling upgrades), with
// [ErrIncompatible]. Packages transport/transporttest and codec/codectest
// check a transport or a codec of your own; examples/custom-transport is a
// whole transport, over Unix domain sockets, in one file.
//
// transport/quic runs each connection as one stream of a QUIC connection,
// all of a node's on its one UDP socket (give each node its own quic.New()).
// UDP cannot refuse a connection, so adding a dead address takes the
// network timeout. The codec encodes only the control messages; the wire
// protocol, framing and flow control included, is specified in one place,
// the documentation of package internal/wire. codec/msgpack sends no type
// information and its decoder allocates only in proportion to the frame it
// decodes; gob may set aside up to 10 MiB for a peer list's claimed length
// (codec/gob refuses the lengths a frame cannot hold before gob sees them,
// and peer lists come only from admitted peers).
//
// # Names, tags, labels and advertised addresses
//
// A remote is known by its address, but a node says more about itself when
// it connects. [WithName] names it (by default "node-" and random hex digits):
// a node that comes back under its name at another address, as a rescheduled
// pod does, replaces the entry of the old address, which is no longer
// redialled, once a dial of the old address fails to find it there (within
// half the network timeout); two live nodes of one name are refused with
// [ErrNameConflict].
// [WithTags] and [Node.SetTags] give it tags, string keys and values of at
// most 16 KiB in all ([WithMaxTagsSize]), that every remote reads with
// [Node.Info] and hears of changes to with [Node.RemoteTagsChanged], in order
// with the membership callbacks. [WithLabel] names its cluster: nodes of
// different labels refuse each other with [ErrLabelMismatch], so that a stale
// seed cannot merge two clusters. [WithAdvertiseAddr] sets the address its
// peers dial it at, when that is not where it listens (behind NAT, in a
// container, on a wildcard address); [Node.Self] returns the Remote that the
// others know the node by.
//
//	n, err := cluster.NewNode("0.0.0.0:7946",
//		cluster.WithName(os.Getenv("POD_NAME")),
//		cluster.WithAdvertiseAddr(os.Getenv("POD_IP")+":7946"),
//		cluster.WithLabel("prod"),
//		cluster.WithTags(map[string]string{"role": "db", "zone": "eu-west-1a"}),
//	)
//
// A node that listens on a wildcard address (":0", "0.0.0.0:0", "[::]:0")
// without an advertised address is known to each peer by the IP it connected
// from; Self then returns the address its first connection's peer knows it
// by (the listen address until it has one). Give such a node an advertised
// address to be known by one address everywhere; port 0 in it means the
// listen port.
//
// A name is 1 to [MaxNameLen] bytes. A node refuses a peer whose name a
// connected remote at another address has, or its own, and both sides log a
// warning. A node that restarts at another address before the cluster has
// noticed that its old instance died is refused until it has (at most the
// healthy interval plus the network timeout): Add it again, as
// discovery.Join does every round.
//
// Tags travel in the hello, so a node that joins later has them from the
// start, and in a tags frame after each change. Each change is versioned:
// an update that arrives late never undoes a newer one. RemoteTagsChanged
// is called after that remote's RemoteAdded and before its RemoteRemoved.
// The limit is 16 KiB of keys and values together by default, up to 1 MiB
// (memberlist allows 512 bytes): SetTags and NewNode fail with
// [ErrTagsTooLarge] past it, and a peer that sends larger tags is dropped
// with a warning. Every node of a cluster should use the same limit. A
// hello may be up to 4 KiB plus four times the limit.
//
// Labels are compared after authentication and before either node learns
// an address from the other; a peer list that names a node of another
// cluster cannot merge the two either.
//
// # Security
//
// What the default mode does not protect against: [New] trusts the network
// it listens on. Anyone who can reach the port can join the cluster, learn
// the address of every node from the peer list, put messages in every
// node's Inbox, and make nodes dial addresses of its choosing. Nothing is
// encrypted: payloads and peer lists cross the network in clear, and anyone
// on the path can read or change them, or take over a connection. Run it on
// a network you trust, or give the nodes a shared secret (below).
//
// What it does protect against is input that would break or exhaust a
// node. Garbage, a frame over the size limit ([WithMaxMessageSize]), a
// truncated frame, or a peer that speaks another codec or no protocol
// version in common gets its connection dropped with a logged reason, and
// the node keeps serving everyone else. Frames are bounded (the maximum
// message size, and 4 KiB plus room for the tags of a hello until the
// handshake is done), memory for a frame is taken only as its bytes arrive,
// a connection that does not reach its handshake's verdict within the
// handshake timeout is dropped (until its verdict a connection holds
// about 10 KiB, 40 KiB with a secret, plus about what it sent), and the
// handshakes of strangers and what peers can make a node dial or queue
// are bounded, in number and in memory (see Limits below). The tests (badinput_test.go,
// hostile_test.go, and the fuzz targets of this package, internal/wire and
// each codec) cover garbage, truncated and oversized frames, a claimed
// length of 4 GiB, half a frame and then silence, and crowds of
// connections that never say hello.
//
// Identity claims: a hello names an address, a nonce and a name, and
// anyone can send any of them (a node sends its nonce to whoever connects).
// A node acts on such a claim only once it has confirmed it (confirm.go,
// confirm_test.go):
//
//   - It takes an address for its own only when its own dial of that
//     address met its own nonce; a connection that comes in with its nonce
//     is refused and recorded nowhere.
//   - A connection that claims a connected remote's address with a new
//     nonce, as a restarted node would, replaces it only if the remote's
//     connection does not answer a ping within half the network timeout;
//     else it is refused as a duplicate. The claimant waits that long for
//     its answer, at most: a restarted node's old connection fails at once
//     or stays silent.
//   - A connection that claims the name of a remote being redialled at
//     another address takes the name only if a dial of that address, made
//     at once and paced like every dial, fails to find the name's holder
//     within half the network timeout; if the holder answers, the claimant
//     is refused with [ErrNameConflict].
//   - A goodbye comes on a connection whose claim was uncontested or
//     confirmed as above, so nobody can say it for a live remote. The node
//     then dials that address no more, as after any goodbye, and refuses
//     the redials and peer-list dials of the instance that said it (by its
//     nonce) only: another node at that address may still dial in.
//
// What remains: without per-node keys, an address or a name that nobody
// holds at the moment is still only a claim. A stranger (in an open cluster)
// or a member (with a secret) can take the address or the name of a node
// that is down or unreachable, and hold it while it stays connected: the
// node, when it comes back, is refused at that peer (as a duplicate, or
// with [ErrNameConflict]) until the squatter leaves, and traffic routed by
// address, name or tags reaches the squatter. A goodbye said under the
// address of a node that is not connected to this one (down, or cut off)
// stops this node dialling it, though that node may still dial in. It
// cannot take over a live node's connection, or its name while it answers.
//
// Limits: what one peer, honest or not, can make a node spend, whatever it
// sends (hostile_dial_test.go, gate_test.go and the internal tests of the
// dial pool, the gate and the callback queue show each):
//
//   - Connections not yet admitted, whoever they come from: at most 64
//     handshakes run at once, at most 8 from one source address (an IPv4
//     address, or an IPv6 /64). Others wait for a slot, holding their
//     descriptor and about 1 KiB but no goroutine, 1,024 at most, served
//     in turn per source; past that, a connection pushes out the newest
//     waiting one of the source with the most waiting, or is closed at
//     once if that is its own. Until its verdict a handshake holds about
//     10 KiB (40 KiB with a secret: TLS's state) plus what the peer sent,
//     up to twice that while a frame's buffer grows as its bytes arrive. A hello of more than 4 KiB (one with tags; at most 4 KiB plus 4
//     times the tags limit) is read only once it fits in a budget of 4 MiB,
//     or two of the largest hellos if that is more, of which one source
//     takes a quarter at most, or one hello; until then it waits, within
//     its handshake timeout. Strangers thus hold at most about 3 MiB in
//     handshakes, 1 MiB in waiting connections, and that budget; 1,000
//     stalled connections from one address hold under 2 MiB, and do not
//     delay a peer from another address. A connection that reaches no
//     verdict within the handshake timeout, 2 s plus the time the largest
//     hello takes at 4 Mbit/s (2.1 s at the default tags limit, 10 s at
//     the largest) or the network timeout if that is shorter, is dropped
//     ([ErrTimeout], counted in [Handshakes].Timeout); one that waited
//     that long for its turn or for room for its hello, or was turned
//     away, is closed with [ErrBusy] (counted in [Handshakes].Rejected).
//   - Dials from peer lists and redials share one pool (dialpool.go): at
//     most 4 list dials and 8 redials at once, started at most 64 a
//     second after a burst of 256; at most 4,096 addresses of one peer
//     list dialled, 4,096 waiting per remote that sent them, 65,536 in all.
//     Waiting list dials are served in turn per remote that named them, so
//     one remote's addresses that never answer delay another's by at most
//     one network timeout. An address whose list dial failed is not dialled
//     from a peer list again for a healthy interval (16,384 such addresses
//     remembered). A list dial sends the node's hello, tags included, as
//     any dial does, so that the remote has them at RemoteAdded; but only
//     once the address has accepted the connection. So a third party whose
//     addresses a remote lists gets from each node at most 64 connection
//     attempts a second in all, and, while the negative cache has room, at
//     most 3 hellos (the node's identity and tags) per listening address
//     and healthy interval.
//   - The node redials, after an ungraceful removal, an address it has
//     reached itself (it dialled it and found the remote there, or an Add
//     named it) until it answers; an address a remote merely claimed in its
//     hello only 3 times, unless one of them reaches it. The reconnect set
//     holds at most 4,096 addresses (16,384 remembered as reached); after a
//     redial that fails the address is redialled every other reconnect
//     interval, and after two every fourth.
//   - The queue to the callbacks holds at most the newest tags of each
//     remote besides the remotes added and removed, so a flood of tags
//     updates delays RemoteAdded of another remote by one RemoteTagsChanged
//     callback at most. A remote that sends more than 1,024 tags frames in
//     a healthy interval is dropped as one that breaks the protocol.
//   - Payloads under way: a payload of more than 64 KiB crosses in
//     fragments, into a buffer of its own. All remotes together hold at
//     most four maximum-size messages ([WithMaxMessageSize]; 64 MiB at the
//     defaults) in such payloads beyond their windows, under way or
//     waiting for Inbox: a payload claims its whole size (64 KiB at least)
//     as its first fragment arrives, and gives it back once it leaves the
//     node (into Inbox, or to a handler, which holds it while a call for
//     its remote runs) or its connection ends. One that
//     finds no room waits for it, in order of arrival, its fragments
//     charged to its remote's window, so that the remote holds at most a
//     window until its turn. While one waits, a remote whose payload under
//     way gains less than 64 KiB a second over a network timeout is
//     dropped, with a warning, as one that breaks the protocol
//     ([ErrProtocol]), unless its own messages wait for Inbox: a
//     maximum-size payload thus keeps its room from those that wait for
//     about 256 s at most at the defaults, and honest senders all get
//     their turn. An honest sender on a link slower than 64 KiB/s (512
//     kbit/s) may be dropped so while others wait for room; give such a
//     cluster a smaller maximum message size, or send it payloads of 64
//     KiB at most, which claim nothing (assembly_test.go).
//   - Broadcast waits for the remotes whose queue is full at once, so
//     stalled remotes delay it by one network timeout, not one each; a
//     remote whose window stays shut with data waiting for two healthy
//     intervals plus the network timeout while it answers health checks
//     is suspended (see
//     Backpressure): from then on it delays neither Broadcast nor Query
//     nor Request at all, which fail for it at once with [ErrStalled],
//     until its window opens (stall_test.go).
//
// Shared secret: [WithSecret] closes the cluster to whoever lacks a shared
// secret and encrypts everything. Make the secret once with [NewSecret] and
// give it to every node, for instance base64-encoded in an environment
// variable:
//
//	secret, err := base64.StdEncoding.DecodeString(os.Getenv("PEERWEAVE_SECRET"))
//	...
//	n, err := cluster.NewNode(addr, cluster.WithSecret(secret))
//
// where PEERWEAVE_SECRET was made once with
// base64.StdEncoding.EncodeToString(cluster.NewSecret()). Secrets shorter
// than [MinSecretSize] (32 bytes) are refused with [ErrShortSecret].
//
// With a secret, every connection, on every transport, runs TLS 1.3 before
// its first byte of peerweave: encryption, integrity, and forward secrecy
// from an ephemeral key exchange, so that a secret stolen later does not
// decrypt traffic recorded before. Each node makes a throwaway certificate
// when it starts; nobody checks it. Trust comes from the secret: inside TLS,
// the dialler and then the acceptor prove they know it with an HMAC-SHA256,
// under a key derived from the secret with HKDF, over the TLS session's
// exported keying material, its own role and the protocol preambles. The
// proof is worthless on any other TLS session, so it can be neither relayed
// nor handed back. The acceptor proves only once the dialler has, and
// names, labels, tags, addresses and peer lists travel only after both
// proofs. A transport with TLS of its own (tcp.WithTLS, quic) is wrapped
// again: the cost is a second encryption, and the guarantees do not depend
// on how the outer TLS is configured.
//
// What this protects against whom:
//
//   - An outsider who can reach a node but has no secret, and is not on the
//     path: cannot join, send a message or request, or learn anything of the
//     cluster. A node it dials answers with its protocol preamble (versions
//     and codec name) and a refusal. A node that dials it (a stale seed, a
//     reused address) sends it one proof per connection: an HMAC whose other
//     inputs (role, the TLS session's keying material, the preambles) the
//     stranger knows, being the other end of that session. That lets it
//     test guesses of the secret offline, as fast as it can compute HKDF and
//     HMAC, and nothing else: that is why secrets are 32 random bytes, 2^256
//     guesses, and why NewNode refuses shorter ones.
//     Failed attempts count in [Handshakes].Auth and are logged.
//   - An attacker on the path, who sees and can change every byte: reads
//     nothing but sizes and timing (how much, when, between which hosts);
//     an altered, injected, replayed or reordered byte ends the connection,
//     counted as an authentication failure, and the nodes reconnect. It can
//     cut connections, as any on-path attacker can, and see which addresses
//     talk to each other. It gets nothing to guess the secret against, since
//     the proofs travel inside TLS.
//   - A member, or anyone who knows the secret: is a full member. It can
//     join under any name, read and send everything, answer requests, and
//     pose as any node to a node it connects to (a name is a claim, not an
//     identity). Rotate the secret (below) to shut out a node that should
//     no longer have it; its open connections stay until they break.
//
// Without a secret nothing of this applies and the wire is the plaintext
// protocol of package wire; nodes with and without a secret refuse each
// other with [ErrAuth]. Turning a secret on or off therefore takes a restart
// of every node, not a rolling one. Earlier builds of protocol version 3
// proved the secret in the clear; no release speaks that, so there is no
// upgrade path from it, and nodes of those builds refuse these.
//
// TLS of the transport, for nodes that should be told apart by certificates
// from a CA rather than trusted alike for one secret:
// tcp.New(tcp.WithTLS(cfg)) wraps every connection in TLS, and
// quic.New(quic.WithTLS(cfg)) configures QUIC's (QUIC always encrypts, but
// without a TLS configuration it verifies nobody); with a secret as well,
// each connection is encrypted twice. For mutual TLS, give every node a
// certificate from a CA they all trust. Nodes dial each other
// by IP, so certificates need IP SANs (or set ServerName):
//
//	cfg := &tls.Config{
//		Certificates: []tls.Certificate{nodeCert},
//		RootCAs:      caPool, // to verify the nodes we dial
//		ClientCAs:    caPool, // to verify the nodes that dial us
//		ClientAuth:   tls.RequireAndVerifyClientCert,
//		MinVersion:   tls.VersionTLS13,
//	}
//	n, err := cluster.NewNode(addr,
//		cluster.WithTransport(tcp.New(tcp.WithTLS(cfg))),
//		cluster.WithSecret(secret),
//	)
//
// # Rolling upgrades
//
// Nodes of different releases work together in one cluster, so that a
// cluster upgrades one node at a time. When two nodes connect, each says
// which wire protocol versions it speaks, and the connection speaks the
// highest version both do; what a release adds to the protocol goes only
// over connections that speak it. The promise: each release speaks the
// highest version of the release before it, so a node works with the nodes
// of the release before its own and after it. Upgrade one release at a
// time, restarting each node in turn; connections between upgraded nodes
// then speak the new version, and the others the old one. Two nodes that
// share no version refuse each other: [Node.Add] fails with
// [ErrIncompatible], and both log a warning that names the versions each
// speaks.
//
// This release speaks protocol version 3, the first that negotiates. The
// releases before it speak version 2 only and refuse any other, so moving a
// cluster from one of those to this one takes a restart of every node, not a
// rolling upgrade. A node of this release that a node of protocol 2 dials,
// and one that dials it, log:
//
//	level=WARN msg="dropping connection: bad handshake" ... err="cluster: incompatible peer: peer speaks protocol 2 with codec \"gob\", this node protocol 3 with codec \"gob\": no protocol version in common"
//	level=WARN msg="cannot connect: incompatible peer" ... err="cluster: incompatible peer: peer speaks protocol 2 with codec \"gob\", this node protocol 3 with codec \"gob\": no protocol version in common"
//
// To upgrade: take one node at a time; Close it (the others let it go and
// do not redial it), start the new release on the same address, Add any
// running node as it does at every start, and wait for WaitMesh. Watch for
// the warnings above: one means a pair that shares no version (or codec),
// so stop and roll that node back to the release the others run. Once
// every node runs the new release, every connection speaks its version,
// since each restarted node made its connections anew.
//
// # Secret rotation
//
// [WithSecrets] gives a node a keyring: a primary secret that it proves
// itself with, and other secrets that it accepts from peers besides it.
// [Node.SetSecrets] replaces the keyring of a running node. It affects the
// handshakes that follow: remotes already connected stay, whatever secret
// they proved. To move a cluster from secret old to secret next with no
// refusal, run three rounds, each on every node in turn, and start a round
// only when the one before has reached every node:
//
//	n.SetSecrets(old, next) // 1: prove with old, accept next too
//	n.SetSecrets(next, old) // 2: prove with next, accept old too
//	n.SetSecrets(next)      // 3: retire old
//
// Every secret of the keyring is tried, in constant time. [WithSecret](s)
// is WithSecrets(s). Skipping round 1 would have nodes prove with next to
// nodes that do not accept it yet. A node that starts or restarts meanwhile
// takes the keyring of the round under way, with WithSecrets. A connection
// proves its secret once, at its handshake, so retiring a secret does not
// end the connections made with it: if the old secret leaked, restart each
// node after round 3, so that every connection is made anew. A node created
// without a secret cannot be given one at runtime, nor a node with one left
// without: nodes with and without a secret refuse each other, so SetSecrets
// refuses both. keyring_test.go runs these rounds on a live four-node
// cluster, on every transport and codec, with a new node joining after each.
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
// One rule holds for every call that takes a context (AddContext,
// SendContext, Request, RequestValue, Query's answers, Wait and WaitMesh):
// when the context ends first, the error matches with errors.Is both the
// context's error, [context.Canceled] or [context.DeadlineExceeded], and its
// cause, [context.Cause], when a cause was given with
// [context.WithCancelCause], [context.WithDeadlineCause] or
// [context.WithTimeoutCause]:
//
//	ctx, cancel := context.WithTimeoutCause(ctx, time.Second, errTooSlow)
//	defer cancel()
//	_, err := n.Request(ctx, r, q)
//	errors.Is(err, context.DeadlineExceeded) // true
//	errors.Is(err, errTooSlow)               // true
//
// The node's own network timeout is not the caller's context: a call that
// runs past it fails with [ErrTimeout].
//
// # Scale
//
// A connection made by Add or a redial (a join connection) carries each
// end's full peer list; one dialled from a peer list (a list connection)
// carries none: the node that registers it tells its join remotes of the new
// remote instead. Each pair of nodes is thus introduced once and dialled
// once, so a crowd of N nodes that join one seed at once costs each node
// about N/2 dials and of the order of N peer-list entries (the seed sends
// about N²/2, each joiner the remotes registered before it), where a list per
// connection cost each node N²/2. A node dials at most 4 peer-list addresses
// at once; the rest wait, and a dial's network timeout starts when it is
// dialled. Every healthy interval a node also sends its list to one remote
// picked at random, which heals, within an interval or two, a pair that a
// node crashing or leaving mid-introduction left apart. A connection's
// writer goroutine runs only while there is something to write, so an idle
// remote costs one goroutine, its reader.
//
// A cluster is a full mesh: N nodes hold N(N-1)/2 connections, and every
// node a reader goroutine, a writer goroutine while there is something to
// write, and a read buffer (512 bytes when idle, up to 32 KiB when busy) per
// remote. An idle remote costs one goroutine and about 9 KiB (3 KiB of heap
// and the reader's 6 KiB of stack; codec/gob keeps no state for a
// connection between its frames). Messages that wait for room in Inbox take
// at most the receive window plus one maximum-size message per remote, and
// four maximum-size messages in all beyond the windows (see Limits in
// Security), though an idle remote holds none. A node of a 200-node cluster thus holds
// 199 connections, about 2 MiB and 200 goroutines when idle.
// TestCrowdJoinsOneSeedOnASaturatedMachine checks that 200 nodes joining
// one seed at once on one busy processor all get in, with join work within
// its linear bound; cmd/peerweave-bench measures convergence, join work and
// memory per remote (see BENCHMARKS.md at the root of the module).
//
// That is comfortable up to a few hundred nodes. Beyond that, or across
// unreliable wide-area links, a gossip protocol such as
// hashicorp/memberlist's (SWIM) scales better, at the price of indirect,
// eventually consistent membership.
//
// [WithMessageHandler] is a delivery path for the last factor of
// throughput: messages go to a function on the connection's reader instead
// of Inbox, with no Message, no copy and no allocation per message (up to
// 32 KiB), the payload valid only during the call, as the node reads the
// next message into the same memory. A slow handler pauses its remote
// through the receive window, without removal, as long as it keeps up with
// a window per healthy interval plus network timeout.
//
// # Logging
//
// A node logs through [log/slog]. By default it writes warnings and errors to
// stderr, and connection events too with [WithDebug] or after
// [Node.SetDebug](true). [WithLogger] sends every record to a logger of your
// own, whose handler decides what is written; WithDebug and SetDebug then do
// nothing. Every record carries the node's address as "node".
//
// # Events and statistics
//
// Everything that happens inside a node is an [Event]: a connection accepted
// or dialled, a handshake that failed and why, a remote added or removed and
// why, a goodbye, the answer to a health check with its round trip, a Send
// that found its queue full, a remote suspended while its window stays shut
// and resumed, messages discarded, a peer list received, a redial. The node's logging is one [Observer] of them; [WithObserver] adds
// others, called on the goroutine that did the work, with no lock held (so
// an Observer may call the node's methods, Close included, but not
// CloseRemote, which may wait for that goroutine):
//
//	n, err := cluster.NewNode(addr, cluster.WithObserver(cluster.ObserverFunc(func(e cluster.Event) {
//		if e.Kind == cluster.EventRemoved && errors.Is(e.Err, cluster.ErrSilence) {
//			log.Printf("%s went silent", e.Addr)
//		}
//	})))
//
// The cause of a removal is one of [ErrSilence] (nothing heard, not even the
// answer to a health check), [ErrWriteStalled] (a write made no progress for
// the network timeout; both match [ErrTimeout]), [ErrConnLost] (closed or
// reset), [ErrProtocol] (bad input), [ErrLocalLeave], [ErrRemoteLeave] and
// [ErrReplaced] (the remote restarted). No event is about one message, so an
// observer costs nothing per message.
//
// [Node.Stats] returns the node's statistics: remotes connected and
// redialled, Inbox depth, bytes queued, messages and payload bytes each way
// (a request and a reply count as a message each; control frames as none),
// messages dropped, redials, handshakes by outcome (a peer refused for its
// name or label counts as Rejected, on both sides) and removals by cause.
// [Node.RemoteStats] and [Node.AllRemoteStats] return each remote's: when it
// connected, the round trip of its health checks (last and smoothed; zero
// until the remote has answered the first, which the node sends within a
// healthy interval of the connection),
// messages and bytes each way on its connection, what is queued for it, and
// since it was first lost, messages dropped, redials and the last error.
// They are counted where the work is done, by the goroutine that does it,
// without a lock on the way of a message. Package metrics/promcluster exports
// them as Prometheus metrics, and package status serves them, with the
// node's recent events, as a page for people and JSON for tools.
//
// # License
//
// peerweave is free software under the MIT license: see the LICENSE file at
// the root of the module, github.com/peerweave/peerweave.
package cluster
