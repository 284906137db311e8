// Package link is one connection of a node after its handshake: the
// net.Conn, its send queues and the writer that drains them, the credit the
// remote's window gives us, the goodbye sub-states and the traffic counters.
// It moves bytes: the node encodes the bodies of control frames (outside
// any lock) and hands them in, and decodes those it is handed up.
//
// # Write pipeline
//
// A sender appends whole frames under mu to one of two queues: control
// frames (Control) to ctrl, data frames (Queue: a payload in one Data
// frame, or in a First frame and More frames, behind the Request or Reply
// frame that tags it, if any) to data. The first to queue into an idle
// link starts the writer goroutine (signal); a busy writer is woken through
// wake instead. The writer takes (take) every control frame, then as many
// data frames as the remote's window (credit) and one write's budget,
// about a fragment, allow, so that a control frame queued during a large
// transfer waits for one write at most; it writes them (write, with the
// progress rule of writeLink: a write fails only once the network has
// taken nothing for the network timeout), and goes round again. Once it
// finds nothing it may write, a live link's writer returns: an idle link
// costs no goroutine but its reader's. A Window frame from the remote
// (Opened) adds credit and wakes the writer if data waits for it.
//
// # Read pipeline
//
// One reader goroutine (ReadLoop, which the node runs) reads frames
// through the ReadBuffer the handshake began, and fails once the remote has
// been silent for Config.Silence (silence.go). It answers pings, times pongs, adds a Window
// frame's credit, takes a Request or Reply frame as the tag of the payload
// after it, reassembles a First frame and its More frames, and charges
// every payload byte to the window we granted (granted): a remote that
// overdraws it breaks the protocol. Payloads go up with their tag and
// charge (Handler.Payload), in place in the read buffer where they fit;
// the node gives their bytes back (Release) as it consumes them, and they
// go out as Window frames once they add up to a quarter window. Frames the
// link does not understand (peer lists, tags, later versions') go up as
// kind and body (Handler.Control). A goodbye either way moves the goodbye
// sub-states (goodbye.go). When the reader ends, it tells the node why
// (Closed), waits for the writer (StopWriters) and says so (Exited), so
// that whoever waits for the reader waits for the writer too. A payload
// call that waits for this very connection (a message handler making a
// request of its sender) has another reader take over (Relieve).
package link

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/internal/wire"
)

// MaxWindow is the largest window a link grants or accepts.
const MaxWindow = 1<<31 - 1

// MaxSpare is the largest buffer a link, or its node, keeps for reuse
// between frames: a larger one, grown for a rare large frame, goes to the
// garbage collector rather than stay with an idle connection.
const MaxSpare = 4 << 20

// maxCopy is the most data a write copies behind control frames to make one
// system call of two.
const maxCopy = 4 << 10

// Handler is what a link tells the node it belongs to. The link calls it
// from its reader or its writer goroutine, holding none of its locks.
type Handler interface {
	// Payload hands up a whole payload, tagged by t, which holds charge
	// bytes of the window we granted: the node gives them back with
	// Release once it has consumed it. If owned, b is the node's to
	// keep; if not, b is valid only during the call. Payload may return
	// ErrRelieved (see Relieve), or an error that ends the link.
	Payload(b []byte, t Tag, owned bool, charge int) error
	// First tells of a payload of total bytes that begins to come in
	// fragments, before the Part of its first: the node may set room
	// aside for it.
	First(total int)
	// Part tells of n more bytes of a payload that comes in fragments,
	// done if they complete it. The node gives back at once what it
	// need not hold (Release) and returns the charge of the payload,
	// which Payload brings, once done.
	Part(n int, done bool) (charge int)
	// Control hands up the body, valid only during the call, of a
	// control frame the link does not understand itself (a peer list,
	// tags, a later version's frame): an error ends the link.
	Control(k wire.Kind, body []byte) error
	// Cancel says that the remote gave up on its request id.
	Cancel(id uint64)
	// Pong tells of the round trip of a health check.
	Pong(rtt time.Duration)
	// Opened says that the remote opened its window (a Window frame),
	// which may have let go data that waited for it (Stalled).
	Opened()
	// Goodbye says that the remote said goodbye, before the link
	// answers it (GotBye).
	Goodbye()
	// Closed says why the link ended, other than by a goodbye: a read
	// failed (a ProtocolError for input that breaks the protocol).
	Closed(err error)
	// Exited says that the reader has returned, after the last of the
	// writers: the link's counts are final.
	Exited()
	// WriteFailed says that a write failed, or took nothing for the
	// network timeout: the connection is broken, and the node drops it
	// (Abort, Close).
	WriteFailed(err error)
	// Expired says that the acknowledgement of the remote's goodbye did
	// not go out within the network timeout: discarded messages that
	// were still queued are dropped, and the link closes.
	Expired(discarded int)
}

// Config is what a link needs to know of its node.
type Config struct {
	// Timeout returns the network timeout, which may change while the
	// link lives: a write that makes no progress for it fails, and so
	// does a goodbye that is not acknowledged.
	Timeout func() time.Duration
	// Silence returns how long the remote may stay silent before a read
	// fails: the healthy interval plus the network timeout.
	Silence func() time.Duration
	// Go runs f on a goroutine that the node waits for: a reader that
	// takes over from another (Relieve).
	Go func(f func())
	// SendQueue is how many bytes of data frames Queue lets wait before
	// a sender must wait for room.
	SendQueue int
	// Window is the window we grant the remote, and GrantAt how many
	// bytes released make us give them back.
	Window, GrantAt int
	// MaxMessage bounds a payload and a frame's body; MaxTags a Tags
	// frame's body; LastKind is the highest frame kind the link's
	// protocol version carries.
	MaxMessage, MaxTags int
	LastKind            wire.Kind
	// Overhead is what every message costs in a window besides its
	// payload, in both directions: wire.Overhead of the link's version.
	// Each side's window is larger by one overhead.
	Overhead int
	// Borrow says that the node takes plain payloads during the Payload
	// call only (a message handler), so large ones are read into a
	// buffer the reader keeps.
	Borrow bool
}

// Link is one connection after its handshake.
type Link struct {
	conn net.Conn
	h    Handler
	cfg  Config

	// The reader's, or, once it is relieved, its successor's (Relieve).
	br      *ReadBuffer
	scratch []byte // the body of the last control frame, or a borrowed payload
	part    []byte // the fragmented payload under way
	total   int    // its length; 0 when none is under way
	tag     Tag    // the tag of the payload to read next
	unread  int    // bytes of the frame whose payload is in a Payload call, still in br
	armed   int64  // when the read deadline falls due, by monotonic; 0 before the first read (silence.go)

	// granted is the payload bytes the remote may still send us;
	// released those the node gave back and that are not granted yet.
	granted, released atomic.Int64

	// state is a State, written under mu and read without it by whoever
	// only needs to know where the goodbye stands.
	state atomic.Uint32

	mu      sync.Mutex // guards the fields below and changes of state; never held over I/O or a Handler call
	ctrl    []byte     // control frames to write
	data    []byte     // data frames; data[:taken] are written or being written
	taken   int
	credit  int           // payload bytes the remote's window lets us send
	queued  int           // messages not wholly taken by the writer
	rest    int           // payload bytes of the fragmented message being taken, after the frames taken
	drained chan struct{} // closed when the writer takes data, if non-nil
	expire  *time.Timer   // set by GotBye: the writer gives up on the acknowledgement when it fires
	sayBye  bool          // set by Bye: the writer writes our goodbye once the data taken is out, then half-closes
	spare   []byte        // the ctrl buffer the writer last wrote, for reuse
	need    int           // window the frame at the head of data waits for, while shut is set
	// writing says that a writer goroutine runs; stopped that none may
	// start again (the reader ended, or our goodbye is written).
	writing, stopped bool

	wake    chan struct{} // capacity 1: there may be something to write
	acked   chan struct{} // closed when the remote acknowledges our goodbye
	done    chan struct{} // closed by Close
	once    sync.Once     // closes done
	writers sync.WaitGroup
	watch   *watchdog // the writers': made by the first write to a connection that needs one (watchdog.go)

	// Counters, each written by one goroutine, or under mu, and loaded
	// without a lock. The health loop's and the reader's: pings is how
	// many health checks are unanswered, and pingAt when the oldest of
	// them went out, if it was the only one (0 otherwise), so that its
	// answer times it.
	pings  atomic.Int32
	pingAt atomic.Int64
	// answered, if set, is closed by the next pong (Answered).
	answered atomic.Pointer[chan struct{}]
	_        [64]byte // the reader's counts apart from the writer's
	// The reader's.
	rtt, srtt       atomic.Int64 // time.Duration
	msgsIn, bytesIn atomic.Uint64
	_               [64]byte
	// Written under mu, by whoever changes the send queue or take.
	msgsOut, bytesOut       atomic.Uint64
	queuedMsgs, queuedBytes atomic.Int64
	// shut is when data began to wait for the remote's window, by
	// monotonic, or 0 while none waits for it (Stalled).
	shut atomic.Int64
}

// New returns the link of conn, whose handshake read through br. first
// holds the link's first frames, which go out before anything queued later
// (the acceptor's Welcome, the tags, the window grant: whoever finds the
// link queues behind them). No writer runs until something calls Wake or
// queues, and no reader until the node runs ReadLoop.
func New(conn net.Conn, br *ReadBuffer, h Handler, cfg Config, first []byte) *Link {
	l := &Link{
		conn:   conn,
		h:      h,
		cfg:    cfg,
		ctrl:   first,
		credit: wire.InitialWindow + cfg.Overhead,
		wake:   make(chan struct{}, 1),
		acked:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	l.br = br.After(0, readerFunc(l.readConn))
	l.granted.Store(int64(cfg.Window + cfg.Overhead))
	return l
}

// State returns where the link is in its goodbye.
func (l *Link) State() State { return State(l.state.Load()) }

// setState moves the link to s. l.mu must be held.
func (l *Link) setState(s State) { l.state.Store(uint32(s)) }

// Done returns a channel closed once the link is closed.
func (l *Link) Done() <-chan struct{} { return l.done }

// Close closes the connection, which ends the reader and the writer.
func (l *Link) Close() {
	l.once.Do(func() {
		close(l.done)
		l.conn.Close()
	})
}

// StopWriters keeps writers from starting and waits for the one running, if
// any: the reader calls it as it ends, so that whoever waits for the
// reader waits for the writer too.
func (l *Link) StopWriters() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.writers.Wait()
}

// Opened opens the remote's window into our sends by inc bytes, as its
// Window frame says, and wakes the writer if data waits for it. It fails
// if the window would pass MaxWindow, which breaks the protocol.
func (l *Link) Opened(inc int) error {
	l.mu.Lock()
	l.credit += inc
	credit, waiting := l.credit, l.queuedBytesLocked() > 0
	if l.shut.Load() != 0 && l.need <= l.credit {
		l.need = 0
		l.shut.Store(0)
	}
	l.mu.Unlock()
	if credit > MaxWindow {
		return windowError(credit)
	}
	if waiting {
		l.signal()
	}
	return nil
}

// Stalled returns how long data has waited for the remote's window, which
// has let none of it go since, or 0 if none waits for it. A window that
// opens by less than the next frame needs does not end the wait.
func (l *Link) Stalled() time.Duration {
	if since := l.shut.Load(); since != 0 {
		return time.Duration(monotonic() - since)
	}
	return 0
}

// Sent returns how many messages and payload bytes the writer has taken.
func (l *Link) Sent() (msgs, bytes uint64) { return l.msgsOut.Load(), l.bytesOut.Load() }

// Queued returns how many messages, and bytes of data frames, wait.
func (l *Link) Queued() (msgs, bytes int) {
	return int(l.queuedMsgs.Load()), int(l.queuedBytes.Load())
}

// publishQueue publishes the length of the send queue to the counters.
// l.mu must be held.
func (l *Link) publishQueue() {
	l.queuedMsgs.Store(int64(l.queued))
	l.queuedBytes.Store(int64(l.queuedBytesLocked()))
}

// queuedBytesLocked is how much data waits for the writer. l.mu must be
// held.
func (l *Link) queuedBytesLocked() int { return len(l.data) - l.taken }

// WindowBody returns the body of a Window frame that opens a window by n.
func WindowBody(n int) []byte {
	return wire.Window{Increment: uint32(n)}.Append(make([]byte, 0, wire.WindowSize))
}
