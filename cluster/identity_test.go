package cluster_test

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// forEachSocketStack runs f on every stack whose transport has real sockets,
// where a node can listen on a wildcard address.
func forEachSocketStack(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Parallel()
	for _, s := range stacks {
		if strings.HasPrefix(s.name, "mem+") {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			f(t, newHarness(t, s))
		})
	}
}

func TestWildcardNodeWithAnAdvertisedAddressIsDialledThere(t *testing.T) {
	forEachSocketStack(t, func(t *testing.T, h *harness) {
		h.Listen = func(i int) string {
			if i == 0 {
				return "0.0.0.0:0"
			}
			return "127.0.0.1:0"
		}
		// 127.0.0.2 reaches the wildcard listener over loopback, but is
		// no address the node could have found by itself.
		a := h.node(cluster.WithAdvertiseAddr("127.0.0.2:0"))
		b, c := h.node(), h.node()
		adv := fmt.Sprintf("127.0.0.2:%d", a.Addr().Port)
		assert.Equal(t, adv, a.Self().String())
		assert.True(t, a.Addr().IP.IsUnspecified(), "Addr is still the listen address")

		require.NoError(t, a.Add(b.String()))
		require.NoError(t, c.Add(b.String())) // b's peer list names a at adv
		waitKnows(t, waitFor, b, a.Self(), remote(c))
		waitKnows(t, waitFor, c, a.Self(), remote(b))
		waitRemotes(t, a, b, c)
		assert.Positive(t, h.faults.Dials(c.String(), adv), "c dialled a at its advertised address")
		require.NoError(t, c.Send(a.Self(), []byte("to the advertised address")))
		assert.Equal(t, "to the advertised address", string(receive(t, a).Payload))
		info, ok := c.Info(a.Self())
		require.True(t, ok)
		assert.Equal(t, a.Name(), info.Name)
	})
}

func TestWildcardNodeWithoutOneKnowsTheAddressOthersKnowItBy(t *testing.T) {
	t.Parallel()
	a, err := cluster.New("0.0.0.0:0")
	require.NoError(t, err)
	defer a.Close()
	b, err := cluster.New("127.0.0.1:0")
	require.NoError(t, err)
	defer b.Close()

	assert.True(t, a.Self().IP.IsUnspecified(), "before any connection, Self is the listen address")
	require.NoError(t, a.Add(b.String()))
	assert.False(t, a.Self().IP.IsUnspecified(), "a knows how b knows it once Add returns")
	assert.Equal(t, a.Addr().Port, a.Self().Port)
	waitKnows(t, waitFor, b, a.Self())
	require.NoError(t, b.Send(a.Self(), []byte("hello")))
	assert.Equal(t, "hello", string(receive(t, a).Payload))
}

func TestIdentityOptionsAreChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"0.0.0.0:7946", "[::]:0", "localhost:7946", "10.0.0.1"} {
		_, err := cluster.NewNode("127.0.0.1:0", cluster.WithAdvertiseAddr(bad))
		assert.Error(t, err, bad)
	}
	long := strings.Repeat("n", cluster.MaxNameLen+1)
	for _, o := range []cluster.Option{cluster.WithName(long), cluster.WithLabel(long), cluster.WithMaxTagsSize(-1)} {
		_, err := cluster.NewNode("127.0.0.1:0", o)
		assert.Error(t, err)
	}

	// Without WithName, every node gets a name of its own.
	h := newHarness(t, memStack())
	a, b := h.node(), h.node()
	assert.True(t, strings.HasPrefix(a.Name(), "node-"), a.Name())
	assert.NotEqual(t, a.Name(), b.Name())
}

func TestNodeBackAtANewAddressReplacesItsOldEntry(t *testing.T) {
	forEachTransport(t, func(t *testing.T, h *harness) {
		recA := newRecorder()
		a, c := h.node(recA.Options()...), h.node()
		old := h.node(cluster.WithName("b"), cluster.WithNetworkTimeout(300*time.Millisecond))
		mesh(t, old, a, c) // a and c dial old: they redial only what they reached
		oldAddr := old.String()

		// old dies where nobody hears its goodbye: a and c lose it
		// ungracefully and keep redialling it.
		h.faults.Isolate(oldAddr)
		old.Close()
		waitViews(t, detection, map[*cluster.Node][]*cluster.Node{a: {c}, c: {a}})
		for _, n := range []*cluster.Node{a, c} {
			before := h.faults.Dials(n.String(), oldAddr)
			require.Eventually(t, func() bool { return h.faults.Dials(n.String(), oldAddr) > before }, waitFor, tick,
				"%s does not redial the node it lost", n)
		}

		// It comes back, under its name, at another address.
		back := h.node(cluster.WithName("b"))
		require.NotEqual(t, oldAddr, back.String())
		require.NoError(t, back.Add(a.String()))
		waitMesh(t, a, c, back)
		recA.WaitEvents(t, map[string]int{"+" + back.String(): 1})
		assert.Equal(t, []string{"+" + oldAddr, "-" + oldAddr}, recA.History(oldAddr))
		assert.Equal(t, []string{"+" + back.String()}, recA.History(back.String()))
		info, ok := a.Info(remote(back))
		require.True(t, ok)
		assert.Equal(t, "b", info.Name)
		h.Logs.Wait(t, waitFor, "remote moved", "old="+oldAddr)

		// Its old address is out of every reconnect set: no redial of it
		// starts. (Dials of it that peer lists sent before it came back
		// asked for may still be retried, the move taking up to half the
		// network timeout while the old address is dialled: they are no
		// redials, so the reconnect sets say it, not a count of dials.)
		assert.Zero(t, a.Stats().Reconnecting, "a still redials the old address")
		assert.Zero(t, c.Stats().Reconnecting, "c still redials the old address")
	})
}

func TestTwoLiveNodesWithOneNameAreRefused(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a, b := h.node(), h.node(cluster.WithName("x"))
		mesh(t, a, b)

		twin := h.node(cluster.WithName("x"))
		err := twin.Add(a.String())
		require.ErrorIs(t, err, cluster.ErrNameConflict)
		assert.ErrorIs(t, err, cluster.ErrRejected)
		h.Logs.Wait(t, waitFor, "WARN", "node="+a.String(), "refusing a node: another live node has the name", "name=x")
		h.Logs.Wait(t, waitFor, "WARN", "node="+twin.String(), "cannot connect: another live node has the name")

		// One that takes the name of the node it joins is refused too.
		self := h.node(cluster.WithName(a.Name()))
		require.ErrorIs(t, self.Add(a.String()), cluster.ErrNameConflict)

		// A node the twin joins, and then meets b through, refuses b on the
		// twin's behalf: the twin learns b from c and c keeps one "x".
		c := h.node()
		require.NoError(t, twin.Add(c.String()))
		require.ErrorIs(t, b.Add(c.String()), cluster.ErrNameConflict)
		assert.Equal(t, names(a), remoteNames(b))
		assert.Equal(t, names(c), remoteNames(twin))
		assert.Equal(t, names(b), remoteNames(a))
	})
}

func TestLabelledClustersNeverMerge(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		x1, x2 := h.node(cluster.WithLabel("x")), h.node(cluster.WithLabel("x"))
		y1, y2 := h.node(cluster.WithLabel("y")), h.node(cluster.WithLabel("y"))
		mesh(t, x1, x2)
		mesh(t, y1, y2)

		// In either direction, Add fails and both sides say why.
		err := x1.Add(y1.String())
		require.ErrorIs(t, err, cluster.ErrLabelMismatch)
		assert.ErrorIs(t, err, cluster.ErrRejected)
		require.ErrorIs(t, y2.Add(x2.String()), cluster.ErrLabelMismatch)
		for _, pair := range [][2]*cluster.Node{{x1, y1}, {y2, x2}} {
			h.Logs.Wait(t, waitFor, "WARN", "node="+pair[0].String(), "cannot connect: a node of another cluster")
			h.Logs.Wait(t, waitFor, "WARN", "node="+pair[1].String(), "refusing a node of another cluster")
		}
		// A node without a label is of another cluster too.
		none := h.node()
		require.ErrorIs(t, none.Add(x1.String()), cluster.ErrLabelMismatch)

		// A peer of cluster x whose peer list names y1: x1 dials y1, and
		// they refuse each other.
		nonce := make([]byte, 16)
		rand.Read(nonce)
		p := dialRawHello(t, h, x1, wire.AppendPreamble(nil, h.stack.codec.Name()),
			&wire.Hello{Addr: "127.0.0.1:1", Nonce: nonce, Label: "x"})
		p.write(t, p.frame(nil, wire.KindPeers, &wire.Peers{Addrs: []string{y1.String()}}))
		require.Eventually(t, func() bool { return h.faults.Dials(x1.String(), y1.String()) > 1 }, waitFor, tick,
			"x1 does not dial the address of the peer list")
		h.Logs.Wait(t, waitFor, "WARN", "node="+y1.String(), "refusing a node of another cluster", "remote_label=x")

		ctx := t.Context()
		require.NoError(t, x1.WaitMesh(ctx))
		assert.Equal(t, names(x2), remoteNames(x1)[1:], "x1 knows the raw peer and x2")
		assert.Equal(t, names(x1), remoteNames(x2))
		assert.Equal(t, names(y2), remoteNames(y1))
		assert.Equal(t, names(y1), remoteNames(y2))
		assert.Empty(t, none.Remotes())
	})
}

func TestTagsReachEveryRemoteAndLaterJoinersInOrder(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		recB, recC := newRecorder(), newRecorder()
		a := h.node(cluster.WithTags(map[string]string{"role": "db"}))
		b := h.node(recB.Options()...)
		mesh(t, a, b)
		assertTags(t, b, a, "role=db")
		assert.Equal(t, map[string]string{"role": "db"}, a.Tags())

		// A change reaches b, after a's RemoteAdded.
		require.NoError(t, a.SetTags(map[string]string{"role": "web"}))
		recB.WaitEvents(t, map[string]int{"~" + a.String() + " role=web": 1})
		assertTags(t, b, a, "role=web")

		// c joins later and learns a from b's peer list: a's hello carries
		// its current tags.
		c := h.node(recC.Options()...)
		require.NoError(t, c.Add(b.String()))
		waitMesh(t, a, b, c)
		assertTags(t, c, a, "role=web")

		// Changes reach every remote, in order; none comes after a leaves.
		require.NoError(t, a.SetTags(map[string]string{"role": "cache", "zone": "eu"}))
		require.NoError(t, a.SetTags(map[string]string{"role": "cache", "zone": "us"}))
		for _, rec := range []*recorder{recB, recC} {
			rec.WaitEvents(t, map[string]int{"~" + a.String() + " role=cache,zone=us": 1})
		}
		a.Close()
		for _, rec := range []*recorder{recB, recC} {
			rec.WaitEvents(t, map[string]int{"-" + a.String(): 1})
		}
		// zone=eu may be skipped: replaced by zone=us before the callback
		// ran (events.go).
		assert.Contains(t, [][]string{
			{"+", "~ role=web", "~ role=cache,zone=eu", "~ role=cache,zone=us", "-"},
			{"+", "~ role=web", "~ role=cache,zone=us", "-"},
		}, aboutTags(recB.Events(), a.String()))
		assert.Contains(t, [][]string{
			{"+", "~ role=cache,zone=eu", "~ role=cache,zone=us", "-"},
			{"+", "~ role=cache,zone=us", "-"},
		}, aboutTags(recC.Events(), a.String()))
		_, ok := b.Info(remote(a))
		assert.False(t, ok, "Info of a remote that left")
	})
}

// assertTags checks n's view of m's tags.
func assertTags(t *testing.T, n, m *cluster.Node, want string) {
	t.Helper()
	info, ok := n.Info(remote(m))
	require.True(t, ok, "%s does not know %s", n, m)
	assert.Equal(t, want, clustertest.TagString(info.Tags), "%s's tags as %s knows them", m, n)
	assert.Equal(t, m.Name(), info.Name)
}

// aboutTags returns the events about addr, the address cut off.
func aboutTags(events []string, addr string) []string {
	var h []string
	for _, e := range events {
		if strings.HasPrefix(e[1:], addr) {
			h = append(h, e[:1]+strings.TrimPrefix(e[1:], addr))
		}
	}
	return h
}

func TestTagsOverTheLimitAreRefused(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		big := map[string]string{"blob": strings.Repeat("x", cluster.DefaultMaxTagsSize)}
		_, err := cluster.NewNode("127.0.0.1:0", cluster.WithTags(big))
		require.ErrorIs(t, err, cluster.ErrTagsTooLarge)

		a := h.node(cluster.WithMaxTagsSize(1 << 10))
		require.ErrorIs(t, a.SetTags(big), cluster.ErrTagsTooLarge)
		require.ErrorIs(t, a.SetTags(map[string]string{"k": strings.Repeat("v", 1<<10)}), cluster.ErrTagsTooLarge)
		require.NoError(t, a.SetTags(map[string]string{"k": strings.Repeat("v", 1<<10-1)}), "exactly the limit")
		assert.Len(t, a.Tags()["k"], 1<<10-1)

		// A peer with a smaller limit drops a peer that sends more, in a
		// hello or later.
		small := h.node(cluster.WithMaxTagsSize(64))
		require.Error(t, a.Add(small.String()))
		h.Logs.Wait(t, waitFor, "WARN", "node="+small.String(), "bad handshake", "tags too large")
		require.NoError(t, a.SetTags(map[string]string{"k": "v"}))
		require.NoError(t, a.Add(small.String()))
		waitRemotes(t, small, a)
		require.NoError(t, a.SetTags(map[string]string{"k": strings.Repeat("v", 100)}))
		h.Logs.Wait(t, waitFor, "WARN", "node="+small.String(), "dropping remote: bad input", "tags too large")
	})
}

func TestTagsLargerThanTheMessageLimitCross(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		rec := newRecorder()
		a := h.node(cluster.WithMaxMessageSize(1 << 10))
		b := h.node(append(rec.Options(), cluster.WithMaxMessageSize(1<<10))...)
		mesh(t, a, b)
		tags := map[string]string{"k": strings.Repeat("v", 8<<10)}
		require.NoError(t, a.SetTags(tags))
		rec.WaitEvents(t, map[string]int{"~" + a.String() + " " + clustertest.TagString(tags): 1})
		waitRemotes(t, b, a)
	})
}

func TestTagsUpdatesOutOfOrderLoseToNewerOnes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	rec := newRecorder()
	a := h.node(rec.Options()...)
	nonce := make([]byte, 16)
	rand.Read(nonce)
	p := dialRawHello(t, h, a, wire.AppendPreamble(nil, h.stack.codec.Name()),
		&wire.Hello{Addr: "127.0.0.1:1", Nonce: nonce, Tags: []string{"v", "3"}, TagsVersion: 3})
	raw := cluster.Remote(*net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:1")))
	waitKnows(t, waitFor, a, raw)
	var b []byte
	for _, u := range []wire.TagsUpdate{
		{Version: 2, Tags: []string{"v", "2"}}, // older than the hello's
		{Version: 5, Tags: []string{"v", "5"}},
		{Version: 4, Tags: []string{"v", "4"}}, // late
		{Version: 6, Tags: []string{"v", "6"}},
	} {
		b = p.frame(b, wire.KindTags, &u)
	}
	p.write(t, b)
	rec.WaitEvents(t, map[string]int{"~127.0.0.1:1 v=6": 1})
	// v=5 may not show: an update still waiting for the callbacks gives
	// way to a newer one (events.go). Older ones never show.
	assert.Contains(t, [][]string{{"+", "~ v=5", "~ v=6"}, {"+", "~ v=6"}}, aboutTags(rec.Events(), "127.0.0.1:1"))
	info, _ := a.Info(raw)
	assert.Equal(t, map[string]string{"v": "6"}, info.Tags)

	// Tags that are not pairs in key order break the protocol.
	p.write(t, p.frame(nil, wire.KindTags, &wire.TagsUpdate{Version: 7, Tags: []string{"z", "1", "a", "2"}}))
	p.waitHangUp(t)
	h.Logs.Wait(t, waitFor, "WARN", "dropping remote: bad input", "out of order")
}

func TestDiallerDropsAnAcceptorOfAnotherLabelThatWelcomesIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a := h.node(cluster.WithLabel("x"))
	ln, err := h.transport().Listen("10.9.9.9:7946")
	require.NoError(t, err)
	defer ln.Close()

	// A hand-made acceptor that welcomes anyone, with label y.
	bye := make(chan wire.Kind, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		if _, err := wire.ReadPreamble(br); err != nil {
			return
		}
		skipFrame := func() (wire.Kind, error) {
			hd := make([]byte, wire.HeaderSize)
			if _, err := io.ReadFull(br, hd); err != nil {
				return 0, err
			}
			k, size, err := wire.ParseHeader(hd, 1<<20)
			if err == nil {
				_, err = br.Discard(size)
			}
			return k, err
		}
		if _, err := skipFrame(); err != nil { // a's hello
			return
		}
		p := &rawPeer{enc: h.stack.codec.NewEncoder()}
		out := p.frame(wire.AppendPreamble(nil, h.stack.codec.Name()), wire.KindHello,
			&wire.Hello{Addr: "10.9.9.9:7946", Nonce: []byte("acceptor"), Label: "y"})
		if _, err := conn.Write(p.frame(out, wire.KindWelcome, nil)); err != nil {
			return
		}
		if k, err := skipFrame(); err == nil {
			bye <- k
		}
	}()

	err = a.Add("10.9.9.9:7946")
	require.ErrorIs(t, err, cluster.ErrLabelMismatch)
	select {
	case k := <-bye:
		assert.Equal(t, wire.KindBye, k, "a says goodbye to the acceptor it will not have")
	case <-time.After(waitFor):
		t.Fatal("the hand-made acceptor heard nothing after its welcome")
	}
	assert.Empty(t, a.Remotes())
	h.Logs.Wait(t, waitFor, "WARN", "cannot connect: a node of another cluster", "remote_label=y")
}
