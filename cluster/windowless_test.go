package cluster_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// windowless is a fake remote, written as an attacker would: it completes
// the handshake, answers every ping, reads and drops whatever the node
// sends, and never opens its window unless the test says so.
type windowless struct {
	addr string
	conn net.Conn
	mu   sync.Mutex // serialises writes: pongs from the reader, grants from the test
}

func (w *windowless) String() string { return w.addr }

// dialWindowless connects a windowless fake that claims addr to target.
func dialWindowless(t *testing.T, h *harness, target *cluster.Node, addr string) *windowless {
	t.Helper()
	conn, br := rawHandshake(t, h, target, addr)
	w := &windowless{addr: addr, conn: conn}
	go w.serve(br)
	return w
}

// rawHandshake connects a fake remote that claims addr to target, as an
// attacker does by hand: its preamble and hello, then target's frames up
// to its Welcome, which it skips. It returns the connection, closed when
// the test ends, and the reader of what target sends after the Welcome.
func rawHandshake(t *testing.T, h *harness, target *cluster.Node, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, err := h.transport().Dial(ctx, target.String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	nonce := make([]byte, 16)
	rand.Read(nonce)
	raw := &rawPeer{enc: h.stack.codec.NewEncoder()}
	hello := raw.frame(wire.AppendPreamble(nil, h.stack.codec.Name()), wire.KindHello, &wire.Hello{Addr: addr, Nonce: nonce})
	_, err = conn.Write(hello)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	_, err = wire.ReadPreamble(br)
	require.NoError(t, err)
	for k := wire.Kind(0); k != wire.KindWelcome; {
		k, err = skipFrame(br)
		require.NoError(t, err)
	}
	return conn, br
}

// skipFrame reads one frame and drops its body.
func skipFrame(br *bufio.Reader) (wire.Kind, error) {
	h := make([]byte, wire.HeaderSize)
	if _, err := io.ReadFull(br, h); err != nil {
		return 0, err
	}
	k, size, err := wire.ParseHeader(h, 1<<30)
	if err != nil {
		return 0, err
	}
	_, err = br.Discard(size)
	return k, err
}

// serve answers pings until the connection ends.
func (w *windowless) serve(br *bufio.Reader) {
	for {
		k, err := skipFrame(br)
		if err != nil {
			return
		}
		if k == wire.KindPing {
			w.write(wire.AppendHeader(nil, wire.KindPong, 0))
		}
	}
}

func (w *windowless) write(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conn.Write(b) // fails only once the node hung up, which the test sees
}

// grant opens the fake's window by n bytes.
func (w *windowless) grant(n int) {
	b := wire.AppendHeader(nil, wire.KindWindow, wire.WindowSize)
	w.write(wire.Window{Increment: uint32(n)}.Append(b))
}
