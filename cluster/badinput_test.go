package cluster_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/internal/joinwork"
	"github.com/peerweave/peerweave/internal/wire"
)

// rawPeer speaks the handshake by hand, then writes whatever a test wants.
type rawPeer struct {
	conn      net.Conn
	enc       cluster.Encoder
	codecName string
	// closed is closed once the node has closed the connection.
	closed chan struct{}
}

// dialRaw connects to target as the peer at addr, with the given preamble
// and, if hello, a complete handshake.
func dialRaw(t *testing.T, h *harness, target *cluster.Node, preamble []byte, hello bool) *rawPeer {
	t.Helper()
	var m *wire.Hello
	if hello {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		m = &wire.Hello{Addr: "127.0.0.1:1", Nonce: nonce}
	}
	return dialRawHello(t, h, target, preamble, m)
}

// dialRawHello is dialRaw with the given hello, if not nil.
func dialRawHello(t *testing.T, h *harness, target *cluster.Node, preamble []byte, m *wire.Hello) *rawPeer {
	t.Helper()
	hello := m != nil
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, err := h.transport().Dial(ctx, target.String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	p := &rawPeer{conn: conn, closed: make(chan struct{}), codecName: h.stack.codec.Name()}
	p.enc = h.stack.codec.NewEncoder()
	out := preamble
	if hello {
		out = p.frame(out, wire.KindHello, m)
	}
	if len(out) > 0 {
		_, err = conn.Write(out)
		require.NoError(t, err)
	}
	br := bufio.NewReader(conn)
	if hello {
		_, err := wire.ReadPreamble(br)
		require.NoError(t, err)
		for k := wire.Kind(0); k != wire.KindWelcome; {
			h := make([]byte, wire.HeaderSize)
			_, err := io.ReadFull(br, h)
			require.NoError(t, err)
			var size int
			k, size, err = wire.ParseHeader(h, 1<<20)
			require.NoError(t, err)
			_, err = br.Discard(size)
			require.NoError(t, err)
		}
	}
	// Drain what the node sends until it hangs up.
	go func() {
		io.Copy(io.Discard, br)
		close(p.closed)
	}()
	return p
}

// frame appends a frame of kind k with body v, encoded with the codec.
func (p *rawPeer) frame(dst []byte, k wire.Kind, v any) []byte {
	start := len(dst)
	dst = wire.AppendHeader(dst, k, 0)
	if v != nil {
		var err error
		if dst, err = p.enc.Append(dst, v); err != nil {
			panic(err)
		}
	}
	wire.PutHeader(dst[start:], k, len(dst)-start-wire.HeaderSize)
	return dst
}

func (p *rawPeer) write(t *testing.T, b []byte) {
	_, err := p.conn.Write(b)
	require.NoError(t, err)
}

// waitHangUp waits until the node closes the connection.
func (p *rawPeer) waitHangUp(t *testing.T) {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(waitFor):
		t.Fatal("the node kept the connection")
	}
}

func header(length uint32, k wire.Kind) []byte {
	return append(binary.BigEndian.AppendUint32(nil, length), byte(k))
}

func TestBadInputDropsTheConnectionAndSparesEveryoneElse(t *testing.T) {
	const maxMessage = 1 << 20
	attacks := []struct {
		name  string
		hello bool // complete the handshake first
		send  func(p *rawPeer) []byte
		log   []string
	}{
		{"garbage instead of a handshake", false,
			func(*rawPeer) []byte { return []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n") },
			[]string{"WARN", "bad handshake", "not a peerweave peer"}},
		{"another protocol version", false,
			func(p *rawPeer) []byte {
				return wire.Preamble{Version: 9, MinVersion: 9, Codec: p.codecName}.Append(nil)
			},
			[]string{"WARN", "bad handshake", "protocol 9", "no protocol version in common"}},
		{"garbage hello", false,
			func(p *rawPeer) []byte {
				b := append(wire.AppendPreamble(nil, p.codecName), header(9, wire.KindHello)...)
				return append(b, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"...)
			},
			[]string{"WARN", "bad handshake", "decode"}},
		{"hello claiming 16 MiB", false,
			func(p *rawPeer) []byte {
				return append(wire.AppendPreamble(nil, p.codecName), header(16<<20, wire.KindHello)...)
			},
			[]string{"WARN", "bad handshake", "exceeds the 69632-byte limit"}}, // 4 KiB and room for a hello's tags
		{"half a hello, then silence", false,
			func(p *rawPeer) []byte {
				return append(wire.AppendPreamble(nil, p.codecName), header(9, wire.KindHello)...)
			},
			[]string{"connection dropped in handshake", "timeout"}},
		{"frame over the size limit", true,
			func(*rawPeer) []byte { return header(maxMessage+2, wire.KindData) },
			[]string{"WARN", "bad input", "exceeds"}},
		{"claimed length of 4 GiB", true,
			func(*rawPeer) []byte { return header(0xffffffff, wire.KindData) },
			[]string{"WARN", "bad input", "exceeds"}},
		{"unknown frame kind", true,
			func(*rawPeer) []byte { return header(1, 200) },
			[]string{"WARN", "bad input", "unknown frame"}},
		{"handshake frame after the handshake", true,
			func(p *rawPeer) []byte { return p.frame(nil, wire.KindHello, &wire.Hello{Addr: "127.0.0.1:2"}) },
			[]string{"WARN", "bad input", "unexpected hello frame"}},
		{"malformed peer list", true,
			func(*rawPeer) []byte { return append(header(6, wire.KindPeers), "\x03\xff\xff\xff\xff"...) },
			[]string{"WARN", "bad input", "decode"}},
		{"bad address in peer list", true,
			func(p *rawPeer) []byte {
				return p.frame(nil, wire.KindPeers, &wire.Peers{Addrs: []string{"no-such-host"}})
			},
			[]string{"WARN", "bad input", "bad address"}},
		{"request tag without its payload", true,
			func(*rawPeer) []byte {
				tag := append(header(1+wire.RequestSize, wire.KindRequest), make([]byte, wire.RequestSize)...)
				return append(tag, tag...)
			},
			[]string{"WARN", "bad input", "request frame after a request frame"}},
		{"reply tag of an unknown status", true,
			func(*rawPeer) []byte {
				return append(header(1+wire.ReplySize, wire.KindReply), "\x00\x00\x00\x00\x00\x00\x00\x01\x07"...)
			},
			[]string{"WARN", "bad input", "reply of status 7"}},
		{"request tag inside a fragmented payload", true,
			func(*rawPeer) []byte {
				b := append(header(1+wire.WindowSize+wire.MaxFragment, wire.KindFirst), 0, 2, 0, 0)
				b = append(b, make([]byte, wire.MaxFragment)...)
				return append(append(b, header(1+wire.RequestSize, wire.KindRequest)...), make([]byte, wire.RequestSize)...)
			},
			[]string{"WARN", "bad input", "request frame inside a fragmented payload"}},
		{"cancel of the wrong size", true,
			func(*rawPeer) []byte { return append(header(4, wire.KindCancel), 0, 0, 7) },
			[]string{"WARN", "bad input", "cancel frame of 3 bytes"}},
		{"truncated frame", true,
			func(p *rawPeer) []byte {
				b := append(header(101, wire.KindData), make([]byte, 10)...)
				p.conn.Write(b)
				p.conn.Close()
				return nil
			},
			[]string{"WARN", "remote lost", "unexpected EOF", "discarded=0"}},
	}
	for _, attack := range attacks {
		t.Run(attack.name, func(t *testing.T) {
			forEachStack(t, func(t *testing.T, h *harness) {
				a := h.node(cluster.WithMaxMessageSize(maxMessage))
				b := h.node(cluster.WithMaxMessageSize(maxMessage))
				mesh(t, a, b)
				const count = 300
				go func() {
					for i := range count {
						assert.NoError(t, b.Send(remote(a), []byte(fmt.Sprint(i))))
					}
				}()

				var preamble []byte
				if attack.hello {
					preamble = wire.AppendPreamble(nil, h.stack.codec.Name())
				}
				p := dialRaw(t, h, a, preamble, attack.hello)
				if b := attack.send(p); b != nil {
					p.write(t, b)
				}
				p.waitHangUp(t)
				h.Logs.Wait(t, waitFor, attack.log...)

				for i := range count {
					require.Equal(t, fmt.Sprint(i), string(receive(t, a).Payload))
				}
				assert.Equal(t, names(b), remoteNames(a))
				select {
				case m := <-a.Inbox:
					t.Fatalf("unexpected message %q from %s", m.Payload, m.From)
				default:
				}
			})
		})
	}
}

func TestHandshakeTimesOutASilentClient(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node(cluster.WithNetworkTimeout(200 * time.Millisecond))
		p := dialRaw(t, h, a, nil, false)
		p.waitHangUp(t)
		h.Logs.Wait(t, waitFor, "connection dropped in handshake", "timeout")
	})
}

// renamed is a codec that encodes as gob under another name.
type renamed struct{ gob.Codec }

func (renamed) Name() string { return "not-gob" }

func TestPeersWithAnotherCodecRefuseEachOther(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node()
		b := h.node(cluster.WithCodec(renamed{}))
		err := b.Add(a.String())
		require.ErrorIs(t, err, cluster.ErrIncompatible)
		assert.Contains(t, err.Error(), fmt.Sprintf("codec %q", h.stack.codec.Name()))
		h.Logs.Wait(t, waitFor, "WARN", "bad handshake", `codec "not-gob"`)
		assert.Empty(t, a.Remotes())
		assert.Empty(t, b.Remotes())
		select {
		case m := <-a.Inbox:
			t.Fatalf("unexpected message %q", m.Payload)
		default:
		}
	})
}

// TestHugePeerListDoesNotStartAGoroutinePerAddress counts goroutines, so it
// runs alone (not in parallel), one stack after the other.
func TestHugePeerListDoesNotStartAGoroutinePerAddress(t *testing.T) {
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) { hugePeerList(t, newHarness(t, s)) })
	}
}

func hugePeerList(t *testing.T, h *harness) {
	a, b := h.node(), h.node()
	mesh(t, a, b)
	// Addresses that a cannot reach: its dials hang until they time out.
	addrs := make([]string, 5000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.2:%d", 20000+i)
	}
	h.faults.Partition([]string{a.String()}, addrs)
	before := runtime.NumGoroutine()

	p := dialRaw(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()), true)
	p.write(t, p.frame(nil, wire.KindPeers, &wire.Peers{Addrs: addrs}))
	require.Eventually(t, func() bool {
		return joinwork.Of(a).Dials >= 4
	}, waitFor, tick, "a dials the addresses it learned")
	for range 20 {
		// The cap of 4 peer-list dials at once holds (the margin covers
		// the raw peer's connection and the test's own goroutines).
		assert.Less(t, runtime.NumGoroutine(), before+4+50)
		require.NoError(t, b.Send(remote(a), []byte("still here")))
		assert.Equal(t, "still here", string(receive(t, a).Payload))
	}
}

// TestClaimedSizesCostNothingUntilSent measures allocations, so it runs alone
// (not in parallel): peers that announce maximum-size payloads and then stall
// must not make the node set that memory aside.
func TestClaimedSizesCostNothingUntilSent(t *testing.T) {
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, s)
			const max, peers = 16 << 20, 20
			// A window that admits the claims: past the window, a claim
			// is refused at its header.
			a := h.node(cluster.WithMaxMessageSize(max), cluster.WithReceiveWindow(max))
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			raws := make([]*rawPeer, peers)
			for i := range raws {
				// Each at an address of its own: a claim of a registered
				// remote's address waits for the check of that remote.
				raws[i] = dialRawHello(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()),
					&wire.Hello{Addr: fmt.Sprintf("127.0.0.1:%d", i+1), Nonce: newNonce()})
				raws[i].write(t, append(header(max+1, wire.KindData), "just the start"...))
			}
			// Each stalled payload holds at most the first chunk of its body.
			require.Eventually(t, func() bool {
				var now runtime.MemStats
				runtime.ReadMemStats(&now)
				return now.TotalAlloc-before.TotalAlloc > peers*64<<10
			}, waitFor, tick, "a reads the start of every payload")
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(peers*2<<20),
				"claimed sizes must not be allocated up front")
		})
	}
}

// TestClaimsInsideAHelloCostNothing measures allocations, so it runs alone
// (not in parallel): a small hello frame whose codec message claims
// megabytes must not make the node set them aside.
func TestClaimsInsideAHelloCostNothing(t *testing.T) {
	// A gob message length of 9 MiB; for msgpack, a 9 MiB binary string.
	claims := map[string][]byte{
		"gob":     {0xfd, 0x90, 0x00, 0x00, 0x01, 0x02},
		"msgpack": {0xc6, 0x00, 0x90, 0x00, 0x00, 0x01},
	}
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, s)
			a := h.node()
			claim := claims[s.codec.Name()]
			require.NotNil(t, claim, "no claim written for codec %s", s.codec.Name())
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			const conns = 20
			for range conns {
				b := append(wire.AppendPreamble(nil, s.codec.Name()), wire.AppendHeader(nil, wire.KindHello, len(claim))...)
				p := dialRaw(t, h, a, append(b, claim...), false)
				p.waitHangUp(t)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(conns<<20))
			h.Logs.Wait(t, waitFor, "WARN", "bad handshake", "decode")
		})
	}
}
