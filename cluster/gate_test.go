//go:build unix

package cluster_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/tcp"
)

// These tests play a crowd of strangers that open connections to a node
// and never finish their handshakes, as gate.go's caps and the package
// doc's Limits describe them.

// stranger is what one connection of a crowd sends before it stalls.
type stranger struct {
	name   string
	secret bool // the node has a secret
	send   func(t *testing.T, n *cluster.Node) []byte
}

// strangers are the crowds: a half-open handshake without and with a
// secret, and a stalled hello of the largest size a node takes.
var strangers = []stranger{
	{"half a hello", false, func(*testing.T, *cluster.Node) []byte {
		return append(append(wire.AppendPreamble(nil, "gob"), header(101, wire.KindHello)...), "\x03\x04"...)
	}},
	{"half-open TLS", true, clientHello},
	{"stalled hello", false, func(_ *testing.T, n *cluster.Node) []byte {
		size := cluster.HelloLimit(n)
		b := append(wire.AppendPreamble(nil, "gob"), header(uint32(size+1), wire.KindHello)...)
		return append(b, make([]byte, size-1)...)
	}},
}

// clientHello returns the first flight of a TLS client configured as a
// node's: what a stranger sends to start a handshake it never finishes.
func clientHello(t *testing.T, _ *cluster.Node) []byte {
	cfg, err := cluster.NewSecureConfig()
	require.NoError(t, err)
	c, s := net.Pipe()
	defer s.Close()
	go tls.Client(c, cfg).Handshake()
	defer c.Close()
	b := make([]byte, 64<<10)
	n, err := s.Read(b)
	require.NoError(t, err)
	return b[:n]
}

// fromSource is the tcp transport dialling from the loopback address ip,
// so that a node plays a source other than 127.0.0.1.
type fromSource struct {
	*tcp.Transport
	ip string
}

func (f fromSource) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(f.ip)}}
	return d.DialContext(ctx, "tcp", addr)
}

// crowd opens count connections from the loopback address ip to n, each
// sending send on a goroutine of its own (the node may not read it all);
// they close when the test ends.
func crowd(t *testing.T, n *cluster.Node, ip string, count int, send []byte) {
	conns := make([]net.Conn, count)
	var dials, writes sync.WaitGroup
	for i := range conns {
		dials.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
			c, err := d.Dial("tcp", n.String())
			if !assert.NoError(t, err) {
				return
			}
			conns[i] = c
			writes.Go(func() { c.Write(send) })
		})
	}
	dials.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		writes.Wait()
	})
}

// memInUse returns the live heap and the stacks in use after a collection.
func memInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// peakMem returns the most memory in use, sampled while d passes.
func peakMem(d time.Duration) uint64 {
	var peak uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		peak = max(peak, memInUse())
		time.Sleep(20 * time.Millisecond) // a sampling pace
	}
	return peak
}

// quietNode starts a node on tcp whose logs are discarded (a crowd causes
// too many records to keep), with a network timeout long enough for the
// handshake timeout to be the gate's own.
func quietNode(t *testing.T, tr cluster.Transport, addr string, extra ...cluster.Option) *cluster.Node {
	opts := append([]cluster.Option{cluster.WithTransport(tr), cluster.WithLogger(slog.New(slog.DiscardHandler)),
		cluster.WithNetworkTimeout(5 * time.Second)}, extra...)
	n, err := cluster.NewNode(addr, opts...)
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// TestStrangersMemory measures what the handshakes of strangers cost a
// node: a source's share of the gate's slots, each holding a stalled
// handshake, and reports it per connection and as a multiple of what each
// sent. It asserts the bound that the package doc states.
func TestStrangersMemory(t *testing.T) {
	for _, s := range strangers {
		t.Run(s.name, func(t *testing.T) {
			var opts []cluster.Option
			if s.secret {
				opts = append(opts, cluster.WithSecret(cluster.NewSecret()))
			}
			n := quietNode(t, tcp.New(), "127.0.0.1:0", opts...)
			send := s.send(t, n)
			before := memInUse()
			// The gate's slots, from as many sources as it takes.
			count := cluster.MaxHandshakes
			for i := range count / cluster.MaxHandshakesPerSource {
				crowd(t, n, fmt.Sprintf("127.0.0.%d", 1+i), cluster.MaxHandshakesPerSource, send)
			}
			require.Eventually(t, func() bool { return cluster.GateInFlight(n) == count }, waitFor, time.Millisecond)
			peak := peakMem(time.Second)
			per := int64(peak-before) / int64(count)
			t.Logf("%s: %d KiB per connection in its handshake, %.1f× the %d bytes it sent",
				s.name, per>>10, float64(per)/float64(len(send)), len(send))
			// A frame's buffer doubles as its bytes arrive: it may be
			// twice what came so far.
			assert.LessOrEqual(t, per, int64(cluster.StrangerCost+2*len(send)),
				"a stranger holds more than the doc says")
		})
	}
}

// TestStrangersCannotShutOutAnHonestNode opens 1,000 connections from one
// source that stall in their handshakes, without a secret and with one,
// and has a node from another source join meanwhile: the handshakes in
// flight never exceed the gate's caps, the crowd holds the memory the doc
// states, the honest node joins within the network timeout, and every
// connection of the crowd is closed within two handshake timeouts.
func TestStrangersCannotShutOutAnHonestNode(t *testing.T) {
	const count = 1000
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur < 2*count+512 { // both ends of every connection are in this process
		t.Skipf("only %d file descriptors", lim.Cur)
	}
	for _, s := range strangers[:2] {
		t.Run(s.name, func(t *testing.T) {
			var opts []cluster.Option
			if s.secret {
				opts = append(opts, cluster.WithSecret(cluster.NewSecret()))
			}
			a := quietNode(t, tcp.New(), "127.0.0.1:0", opts...)
			send := s.send(t, a)
			before := memInUse()
			crowd(t, a, "127.0.0.1", count, send)
			require.Eventually(t, func() bool { return cluster.GateInFlight(a) == cluster.MaxHandshakesPerSource },
				waitFor, time.Millisecond)
			held := peakMem(200*time.Millisecond) - before
			t.Logf("%d connections, %d in their handshakes: %d KiB in all", count, cluster.MaxHandshakesPerSource, held>>10)
			// The slots taken, and the rest waiting with their
			// descriptors; this process holds the crowd's ends too.
			bound := cluster.MaxHandshakesPerSource*(cluster.StrangerCost+2*len(send)) + 2*count*cluster.WaiterCost
			assert.LessOrEqual(t, held, uint64(bound), "the crowd holds more than the doc says")

			b := quietNode(t, fromSource{tcp.New(), "127.0.0.2"}, "127.0.0.2:0", opts...)
			start := time.Now()
			require.NoError(t, b.Add(a.String()), "the honest node could not join")
			assert.Less(t, time.Since(start), b.NetworkTimeout())
			assert.Equal(t, names(b), remoteNames(a))

			// Every stranger is let go: by its handshake timeout, or its
			// wait's, and the handshakes of those that waited.
			assert.Eventually(t, func() bool { return a.Stats().Handshakes.Failed() >= count },
				2*a.NetworkTimeout()+margin, 10*time.Millisecond, "strangers still held: %+v", a.Stats().Handshakes)
			// Those in slots time out; the others' wait runs out first.
			hs := a.Stats().Handshakes
			assert.GreaterOrEqual(t, hs.Timeout, uint64(cluster.MaxHandshakesPerSource), "%+v", hs)
			assert.GreaterOrEqual(t, hs.Rejected, uint64(count-4*cluster.MaxHandshakesPerSource), "%+v", hs)
			all, fromOne := cluster.GatePeaks(a)
			assert.LessOrEqual(t, all, cluster.MaxHandshakes)
			assert.LessOrEqual(t, fromOne, cluster.MaxHandshakesPerSource)
			assert.Zero(t, cluster.GateInFlight(a))
		})
	}
}

// TestLargeHellosWaitForRoom has strangers from 4 sources stall in hellos
// of the largest size, 1 MiB at a tags limit of 256 KiB: the node reads
// those that fit its budget of large hellos, and holds no more than that
// budget for them, however many stall.
func TestLargeHellosWaitForRoom(t *testing.T) {
	n := quietNode(t, tcp.New(), "127.0.0.1:0", cluster.WithMaxTagsSize(256<<10))
	size := cluster.HelloLimit(n)
	send := append(wire.AppendPreamble(nil, "gob"), header(uint32(size+1), wire.KindHello)...)
	send = append(send, make([]byte, size-1)...)
	before := memInUse()
	const sources, each = 4, 4
	for i := range sources {
		crowd(t, n, fmt.Sprintf("127.0.0.%d", 1+i), each, send)
	}
	require.Eventually(t, func() bool { return cluster.GateInFlight(n) == sources*each }, waitFor, time.Millisecond)
	held := int(peakMem(time.Second) - before)
	t.Logf("%d stalled hellos of %d KiB: %d KiB in all", sources*each, size>>10, held>>10)
	room := cluster.HelloRoom(n)
	assert.Less(t, room, sources*each*size, "the test does not exceed the budget")
	assert.LessOrEqual(t, held, sources*each*cluster.StrangerCost+room+room/4, "the node holds more than its budget of hellos")
}
