package fault_test

import (
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./transport/fault that no other test checked when they were
// written. Each runs over transport/mem in a synctest bubble, as the
// package documentation shows.

// auditNodes are two wrapped transports, listening at a and b.
type auditNodes struct {
	fn       *fault.Network
	ta, tb   transport.Transport
	a, b     string
	lnA, lnB net.Listener
	opened   []net.Conn
}

// auditBubble runs f in a bubble with two nodes of one fault network,
// then closes what f opened, heals and lets the links end.
func auditBubble(t *testing.T, f func(t *testing.T, n *auditNodes)) {
	synctest.Test(t, func(t *testing.T) {
		network, fn := mem.NewNetwork(), fault.NewNetwork()
		n := &auditNodes{fn: fn, ta: fn.Wrap(network), tb: fn.Wrap(network), a: "10.0.0.1:7946", b: "10.0.0.2:7946"}
		var err error
		n.lnA, err = n.ta.Listen(n.a)
		require.NoError(t, err)
		n.lnB, err = n.tb.Listen(n.b)
		require.NoError(t, err)
		f(t, n)
		for _, c := range n.opened {
			c.Close()
		}
		n.lnA.Close()
		n.lnB.Close()
		fn.Heal()
		time.Sleep(time.Minute)
	})
}

// dial dials from a to b and accepts at b.
func (n *auditNodes) dial(t *testing.T) (d, acc net.Conn) {
	t.Helper()
	d, err := n.ta.Dial(t.Context(), n.b)
	require.NoError(t, err)
	acc, err = n.lnB.Accept()
	require.NoError(t, err)
	n.opened = append(n.opened, d, acc)
	return d, acc
}

// Cut stops one way only, yet new dials between the two hang, either way,
// as a TCP handshake needs both ways: until the dial's context ends, with
// ErrUnreachable.
func TestAuditCutMakesDialsHangBothWays(t *testing.T) {
	auditBubble(t, func(t *testing.T, n *auditNodes) {
		n.fn.Cut(n.a, n.b)
		for _, dial := range []struct {
			tr transport.Transport
			to string
		}{{n.ta, n.b}, {n.tb, n.a}} {
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			c, err := dial.tr.Dial(ctx, dial.to)
			cancel()
			if err == nil {
				n.opened = append(n.opened, c)
			}
			assert.ErrorIs(t, err, fault.ErrUnreachable, "dial to %s", dial.to)
			assert.Equal(t, 5*time.Second, time.Since(start), "dial to %s", dial.to)
		}
	})
}

// Break closes the connections at once, and new connections may follow.
func TestAuditBreakLetsNewConnectionsFollow(t *testing.T) {
	auditBubble(t, func(t *testing.T, n *auditNodes) {
		d, acc := n.dial(t)
		n.fn.Break(n.a, n.b)
		_, err := acc.Read(make([]byte, 1))
		assert.Error(t, err, "the broken connection still reads")

		d, acc = n.dial(t)
		_, err = d.Write([]byte("again"))
		require.NoError(t, err)
		got := make([]byte, 5)
		_, err = io.ReadFull(acc, got)
		require.NoError(t, err)
		assert.Equal(t, "again", string(got))
		assert.Equal(t, 2, n.fn.Dials(n.a, n.b))
	})
}

// A Link's Bandwidth may be anything up to 1 TiB/s.
func TestAuditALinkOfOneTebibytePerSecondIsTaken(t *testing.T) {
	auditBubble(t, func(t *testing.T, n *auditNodes) {
		require.NotPanics(t, func() { n.fn.Shape(n.a, n.b, fault.Link{Bandwidth: 1 << 40}) })
		d, acc := n.dial(t)
		_, err := d.Write([]byte("fast"))
		require.NoError(t, err)
		got := make([]byte, 4)
		_, err = io.ReadFull(acc, got)
		require.NoError(t, err)
		assert.Equal(t, "fast", string(got))
		n.fn.ShapeAll(fault.Link{})
	})
}

// Delay holds each write for d, both ways, and nothing is lost: a
// write arrives exactly d later on the bubble's clock.
func TestAuditDelayHoldsAWriteForExactlyItsTime(t *testing.T) {
	auditBubble(t, func(t *testing.T, n *auditNodes) {
		d, acc := n.dial(t)
		const delay = 3 * time.Second
		n.fn.Delay(n.a, n.b, delay)
		for _, dir := range [][2]net.Conn{{d, acc}, {acc, d}} {
			start := time.Now()
			_, err := dir[0].Write([]byte("late"))
			require.NoError(t, err)
			got := make([]byte, 4)
			_, err = io.ReadFull(dir[1], got)
			require.NoError(t, err)
			assert.Equal(t, "late", string(got))
			assert.Equal(t, delay, time.Since(start))
		}
	})
}
