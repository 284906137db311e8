package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/wire"
)

// laterFrames keeps the frames of the next release's kind that a node got.
type laterFrames struct {
	mu  sync.Mutex
	got []string // "from: body"
}

func (l *laterFrames) add(from cluster.Remote, body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%s: %s", from, body))
}

func (l *laterFrames) frames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// TestReleasesInteroperate runs nodes of this release and of the next one,
// which speaks a later protocol version with a frame of its own, in one
// mesh: pairs of the next release speak its version and exchange the frame,
// mixed pairs speak this release's version and do not, and everyone
// exchanges messages.
func TestReleasesInteroperate(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		recs := []*recorder{newRecorder(), newRecorder(), newRecorder(), newRecorder()}
		var frames [2]laterFrames
		// With the default network timeout: a handshake that a loaded
		// machine timed out would log a warning and lose a remote, which
		// this test counts.
		opts := func(r *recorder, extra ...cluster.Option) []cluster.Option {
			return append(append(r.Options(), clustertest.Patient()), extra...)
		}
		current := []*cluster.Node{h.node(opts(recs[0])...), h.node(opts(recs[2])...)}
		later := []*cluster.Node{
			h.node(opts(recs[1], cluster.WithLaterRelease(frames[0].add))...),
			h.node(opts(recs[3], cluster.WithLaterRelease(frames[1].add))...),
		}
		all := []*cluster.Node{current[0], later[0], current[1], later[1]}
		mesh(t, all...)

		isLater := func(n *cluster.Node) bool { return slices.Contains(later, n) }
		for _, n := range all {
			for _, o := range others(n, all) {
				want := uint8(wire.Version)
				if isLater(n) && isLater(o) {
					want = cluster.LaterVersion
				}
				assert.Equal(t, want, cluster.ProtocolVersion(n, remote(o)), "%s to %s", n, o)
			}
		}

		// The next release sends its frame where the connection speaks
		// it, and nowhere else.
		for _, n := range later {
			for _, o := range others(n, all) {
				sent := cluster.SendLater(n, remote(o), []byte("from "+n.String()), false)
				assert.Equal(t, isLater(o), sent, "%s to %s", n, o)
			}
		}
		// Messages sent after the frames arrive after them, and prove
		// that every connection took what came before.
		for _, n := range all {
			n.Broadcast([]byte("hello from " + n.String()))
		}
		for _, n := range all {
			var got []string
			for range len(all) - 1 {
				m := receive(t, n)
				assert.Equal(t, "hello from "+m.From.String(), string(m.Payload))
				got = append(got, m.From.String())
			}
			assert.ElementsMatch(t, names(others(n, all)...), got, "%s", n)
		}
		for i, n := range later {
			o := later[1-i]
			assert.Equal(t, []string{fmt.Sprintf("%s: from %s", o, o)}, frames[i].frames(), "%s", n)
		}
		for i, n := range all {
			want := map[string]int{}
			for _, o := range others(n, all) {
				want["+"+o.String()] = 1
			}
			recs[i].WaitEvents(t, want)
			for _, o := range others(n, all) {
				assert.Equal(t, []string{"+" + o.String()}, recs[i].History(o.String()), "%s lost %s", n, o)
			}
		}
		assert.Empty(t, h.Logs.Find("WARN"))

		// A node of this release drops a connection that carries the next
		// release's frame, and so does one of the next release where the
		// connection speaks this release's version: which is why the
		// frame goes only where both sides speak its version.
		require.True(t, cluster.SendLater(later[0], remote(current[0]), []byte("too new"), true))
		h.Logs.Wait(t, waitFor, "WARN", "bad input", "unknown frame kind(18)", "node="+current[0].String())
		require.True(t, cluster.SendLater(later[0], remote(current[1]), []byte("too new"), true))
		h.Logs.Wait(t, waitFor, "WARN", "bad input", "unknown frame kind(18)", "node="+current[1].String())
		p := dialRaw(t, h, later[1], wire.AppendPreamble(nil, h.stack.codec.Name()), true)
		p.write(t, append(wire.AppendHeader(nil, 18, 7), "too new"...))
		p.waitHangUp(t)
		h.Logs.Wait(t, waitFor, "WARN", "bad input", "unknown frame kind(18)", "node="+later[1].String())
		assert.Equal(t, []string{fmt.Sprintf("%s: from %s", later[0], later[0])}, frames[1].frames())
	})
}

// TestNodeOfTooOldAVersionIsRefused has nodes of this release and of the
// next one refuse a node that speaks only version 2, both ways, with the
// reason in the logs of both sides.
func TestNodeOfTooOldAVersionIsRefused(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		current := h.node()
		later := h.node(cluster.WithLaterRelease(func(cluster.Remote, []byte) {}))
		mesh(t, current, later)
		old := h.node(cluster.WithProtocolVersions(2, 2))
		for _, n := range []*cluster.Node{current, later} {
			err := old.Add(n.String())
			require.ErrorIs(t, err, cluster.ErrIncompatible)
			assert.Contains(t, err.Error(), "no protocol version in common")
			h.Logs.Wait(t, waitFor, "WARN", "bad handshake", "node="+n.String(), "peer speaks protocol 2", "no protocol version in common")
			h.Logs.Wait(t, waitFor, "WARN", "cannot connect: incompatible peer", "node="+old.String(), "this node protocol 2", "no protocol version in common")
			h.Logs.Reset()

			err = n.Add(old.String())
			require.ErrorIs(t, err, cluster.ErrIncompatible)
			h.Logs.Wait(t, waitFor, "WARN", "bad handshake", "node="+old.String(), "this node protocol 2")
			h.Logs.Wait(t, waitFor, "WARN", "cannot connect: incompatible peer", "node="+n.String(), "peer speaks protocol 2")
			h.Logs.Reset()
		}
		assert.Empty(t, old.Remotes())
		assert.Equal(t, names(later), remoteNames(current))
	})
}

// TestNodesOfVersion2FailCleanly plays a node of version 2, the last
// release before negotiation, by hand: it sends "pwv" 2 len codec and refuses
// any version but 2. Either way round, each side can tell the other speaks
// another version, and a node of this release says so in its log.
func TestNodesOfVersion2FailCleanly(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		a := h.node()
		codecName := h.stack.codec.Name()
		v2 := append([]byte{'p', 'w', 'v', 2, byte(len(codecName))}, codecName...)

		// readV2 reads a preamble as a node of version 2 does.
		readV2 := func(r io.Reader) (version byte, codec string) {
			head := make([]byte, 5)
			_, err := io.ReadFull(r, head)
			require.NoError(t, err)
			require.Equal(t, "pwv", string(head[:3]))
			name := make([]byte, head[4])
			_, err = io.ReadFull(r, name)
			require.NoError(t, err)
			return head[3], string(name)
		}

		// A version 2 node dials, with its preamble and hello.
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		conn, err := h.transport().Dial(ctx, a.String())
		require.NoError(t, err)
		defer conn.Close()
		p := &rawPeer{enc: h.stack.codec.NewEncoder()}
		go conn.Write(p.frame(v2, wire.KindHello, &wire.Hello{Addr: "127.0.0.1:1", Nonce: []byte("0123456789abcdef")}))
		br := bufio.NewReader(conn)
		version, codec := readV2(br)
		assert.NotEqual(t, byte(2), version, "a version 2 node would take it for its own")
		assert.Equal(t, codecName, codec, "a version 2 node must read the codec name intact, to log it")
		h.Logs.Wait(t, waitFor, "WARN", "bad handshake", "peer speaks protocol 2", "no protocol version in common")
		conn.SetReadDeadline(time.Now().Add(waitFor))
		_, err = io.Copy(io.Discard, br)
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the node kept the connection")

		// A version 2 node accepts: it reads our preamble, answers with
		// its own and hangs up.
		ln, err := h.transport().Listen("127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		read := make(chan byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			head := make([]byte, 5+len(codecName))
			if _, err := io.ReadFull(c, head); err == nil {
				read <- head[3]
			}
			c.Write(v2)
			// Take the rest until the node hangs up, so that closing
			// does not reset the connection before it read our preamble.
			io.Copy(io.Discard, c)
		}()
		err = a.Add(ln.Addr().String())
		require.ErrorIs(t, err, cluster.ErrIncompatible)
		assert.Contains(t, err.Error(), "peer speaks protocol 2")
		assert.NotEqual(t, byte(2), <-read)
		h.Logs.Wait(t, waitFor, "WARN", "cannot connect: incompatible peer", "peer speaks protocol 2", "no protocol version in common")
		assert.Empty(t, a.Remotes())
	})
}
