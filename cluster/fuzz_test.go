package cluster_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// fuzzMaxMessage is the size limit of fuzzed nodes: small, so that the fuzzer
// can reach it.
const fuzzMaxMessage = 4 << 10

// fuzzMaxTags is the tags limit of fuzzed nodes, small for the same reason.
const fuzzMaxTags = 1 << 10

// FuzzHandshake feeds a node everything a dialler sends, from the first byte
// of the connection: preamble, hello and, if those pass, frames. Whatever it
// gets, the node must not panic, must keep serving a good peer, and must put
// nothing on its Inbox but the payloads of well-formed data frames of the
// stream, in order, and only from a stream whose preamble has its codec and
// a protocol version in common with it. The seeds in testdata/fuzz hold
// what nodes of this release and of others send.
func FuzzHandshake(f *testing.F) {
	f.Add(wire.AppendPreamble(nil, "gob"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		got := fuzzNode(t, stream, false)
		if len(got) > 0 {
			pre, err := wire.ReadPreamble(bytes.NewReader(stream))
			require.NoError(t, err, "messages delivered from a stream without a valid preamble")
			_, ok := pre.Common(wire.Preamble{Version: wire.Version, MinVersion: wire.MinVersion})
			require.True(t, ok && pre.Codec == "gob", "messages delivered from a stream with the preamble %+v", pre)
		}
		rest := stream
		for _, m := range got {
			frame := append(wire.AppendHeader(nil, wire.KindData, len(m)), m...)
			i := bytes.Index(rest, frame)
			require.GreaterOrEqual(t, i, 0, "delivered %q, which is no data frame of the stream after the ones before", m)
			rest = rest[i+len(frame):]
		}
	})
}

// FuzzFrames feeds a node arbitrary frames from a peer that completed a
// valid handshake. The node must not panic, must keep serving a good peer,
// and must deliver exactly the well-formed data frames up to the first frame
// that ends the connection, but for those that a Request or Reply frame
// tags: requests and replies never reach Inbox.
func FuzzFrames(f *testing.F) {
	f.Fuzz(func(t *testing.T, frames []byte) {
		got := fuzzNode(t, frames, true)
		certain, possible := dataFrames(frames)
		require.GreaterOrEqual(t, len(got), len(certain), "well-formed data frames lost")
		require.LessOrEqual(t, len(got), len(possible), "more messages than well-formed data frames")
		for i, m := range got {
			require.True(t, bytes.Equal(possible[i], m), "message %d is %q, not the data frame sent, %q", i, m, possible[i])
		}
	})
}

// fuzzNode connects to a fresh node over transport/mem, with a handshake of
// its own if handshake is set, writes input and hangs up. Once the node is
// done with the connection, it checks that the node still exchanges messages
// with a good peer, closes the node and returns the payloads the node
// delivered from the fuzzed connection.
func fuzzNode(t *testing.T, input []byte, handshake bool) [][]byte {
	h := newHarness(t, memStack())
	w := &watched{Transport: h.faults.Wrap(h.transport())}
	a := h.node(cluster.WithMaxMessageSize(fuzzMaxMessage), cluster.WithMaxTagsSize(fuzzMaxTags), cluster.WithTransport(w),
		// Room for every frame the input could hold: none is dropped
		// for want of it.
		cluster.WithInboxSize(len(input)/wire.HeaderSize+2))
	b := h.node(cluster.WithMaxMessageSize(fuzzMaxMessage))
	mesh(t, a, b)
	inbox := collect(a)

	var preamble []byte
	if handshake {
		preamble = wire.AppendPreamble(nil, h.stack.codec.Name())
	}
	p := dialRaw(t, h, a, preamble, handshake)
	// A pipe's Write returns once the node has read everything, or has hung
	// up; either way the node has all it will get.
	p.conn.Write(input)
	p.conn.Close()
	w.waitClosed(t, p.conn.LocalAddr())

	// The node still serves b, both ways; b comes back if the stream
	// claimed its address and took its place.
	waitMesh(t, a, b)
	require.NoError(t, b.Send(remote(a), []byte("probe")))
	require.NoError(t, a.Send(remote(b), []byte("reply")))
	require.Equal(t, "reply", string(receive(t, b).Payload))

	a.Close()
	var got [][]byte
	probed := false
	for _, m := range inbox() {
		if !probed && m.From.String() == b.String() && string(m.Payload) == "probe" {
			probed = true
			continue
		}
		got = append(got, m.Payload)
	}
	require.True(t, probed, "a never received b's probe")
	return got
}

// watched is a transport that tells when the node closed a connection it
// accepted: then the node is done with what came through it.
type watched struct {
	cluster.Transport
	mu       sync.Mutex
	accepted map[string]chan struct{} // by the dialler's address; closed with the connection
}

func (w *watched) Listen(laddr string) (net.Listener, error) {
	ln, err := w.Transport.Listen(laddr)
	if err != nil {
		return nil, err
	}
	return &watchedListener{Listener: ln, w: w}, nil
}

// closed returns the channel closed with the connection accepted from
// dialler, nil if there is none yet.
func (w *watched) closed(dialler net.Addr) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.accepted[dialler.String()]
}

// waitClosed waits until the node has accepted the connection from dialler
// and closed it.
func (w *watched) waitClosed(t *testing.T, dialler net.Addr) {
	t.Helper()
	require.Eventually(t, func() bool { return w.closed(dialler) != nil }, waitFor, tick)
	select {
	case <-w.closed(dialler):
	case <-time.After(waitFor):
		require.FailNow(t, "the node kept a connection that its peer closed")
	}
}

type watchedListener struct {
	net.Listener
	w *watched
}

func (l *watchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	wc := &watchedConn{Conn: c, closed: make(chan struct{})}
	l.w.mu.Lock()
	if l.w.accepted == nil {
		l.w.accepted = make(map[string]chan struct{})
	}
	l.w.accepted[c.RemoteAddr().String()] = wc.closed
	l.w.mu.Unlock()
	return wc, nil
}

type watchedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *watchedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// collect reads n's Inbox until Close closes it; the function it returns
// waits for that and returns every message, in order.
func collect(n *cluster.Node) func() []*cluster.Message {
	var (
		wg   sync.WaitGroup
		msgs []*cluster.Message
	)
	wg.Go(func() {
		for m := range n.Inbox {
			msgs = append(msgs, m)
		}
	})
	return func() []*cluster.Message {
		wg.Wait()
		return msgs
	}
}

// dataFrames returns the payloads of the data frames of a stream of frames
// that a node surely delivers (before any frame but data, ping or pong), and
// those it may deliver (also past peer lists, windows and tags, which it may
// or may not find valid), up to the first frame that ends the connection. A
// payload in fragments counts once its last fragment is in; a payload that a
// request or reply tags does not count.
func dataFrames(stream []byte) (certain, possible [][]byte) {
	sure := true
	var part []byte // a fragmented payload under way
	total := 0
	sent := 0 // payload bytes: past the initial window, the node may find them too many
	tagged := false
	add := func(payload []byte) {
		if tagged {
			tagged = false
			return
		}
		possible = append(possible, payload)
		if sure {
			certain = append(certain, payload)
		}
	}
	for len(stream) >= wire.HeaderSize {
		k, size, err := wire.ParseHeader(stream[:wire.HeaderSize], fuzzMaxMessage)
		if err != nil || len(stream)-wire.HeaderSize < size {
			break
		}
		body := stream[wire.HeaderSize : wire.HeaderSize+size]
		stream = stream[wire.HeaderSize+size:]
		if k == wire.KindData || k == wire.KindFirst || k == wire.KindMore {
			if sent += size; sent > wire.InitialWindow {
				sure = false
			}
		}
		switch {
		case k == wire.KindData && total == 0:
			add(body)
		case k == wire.KindFirst && total == 0 && size >= wire.WindowSize:
			total = int(binary.BigEndian.Uint32(body))
			part = append([]byte(nil), body[wire.WindowSize:]...)
			if total > fuzzMaxMessage || total <= len(part) {
				return certain, possible
			}
		case k == wire.KindMore && total > 0 && len(part)+size <= total:
			if part = append(part, body...); len(part) == total {
				add(part)
				part, total = nil, 0
			}
		case k == wire.KindRequest && size == wire.RequestSize && total == 0 && !tagged,
			k == wire.KindReply && size == wire.ReplySize && body[wire.RequestSize] <= wire.ReplyNoHandler && total == 0 && !tagged:
			tagged = true
		case k == wire.KindPing, k == wire.KindPong, k == wire.KindCancel && size == wire.RequestSize:
		case k == wire.KindPeers, k == wire.KindWindow, k == wire.KindTags:
			sure = false
		default:
			return certain, possible
		}
	}
	return certain, possible
}

// memStack returns the in-memory stack of the suite.
func memStack() stack {
	for _, s := range stacks {
		if s.name == "mem+gob" {
			return s
		}
	}
	panic("no mem+gob stack")
}
