package cluster_test

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of the files *_audit_test.go check, from the
// public API alone, promises of the documentation (go doc -all ./cluster)
// that no other test checked when they were written. Two of them found
// a promise untrue (Query's return at once, and ErrLabelMismatch and
// ErrNameConflict matching ErrRejected); the library now keeps both.

// memNode starts a node on nw with opts, closed when the test ends.
func memNode(t *testing.T, nw *mem.Network, laddr string, opts ...cluster.Option) *cluster.Node {
	t.Helper()
	n, err := cluster.NewNode(laddr, append([]cluster.Option{cluster.WithTransport(nw)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// SetHealthyInterval, SetNetworkTimeout and SetReconnectInterval ignore
// values that are not positive.
func TestAuditIntervalSettersIgnoreNonPositiveValues(t *testing.T) {
	t.Parallel()
	n := memNode(t, mem.NewNetwork(), "10.0.0.1:0")
	for _, d := range []time.Duration{0, -time.Second} {
		n.SetHealthyInterval(d)
		n.SetNetworkTimeout(d)
		n.SetReconnectInterval(d)
	}
	assert.Equal(t, cluster.DefaultHealthyInterval, n.HealthyInterval())
	assert.Equal(t, cluster.DefaultNetworkTimeout, n.NetworkTimeout())
	assert.Equal(t, cluster.DefaultReconnectInterval, n.ReconnectInterval())
}

// Inbox is a channel of WithInboxSize messages, DefaultInboxSize by default.
func TestAuditInboxHasTheConfiguredCapacity(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	assert.Equal(t, cluster.DefaultInboxSize, cap(memNode(t, nw, "10.0.0.1:0").Inbox))
	assert.Equal(t, 7, cap(memNode(t, nw, "10.0.0.2:0", cluster.WithInboxSize(7)).Inbox))
}

// Zero means the default for WithReceiveWindow, WithMaxTagsSize and
// WithRequestConcurrency (and less than zero for the last): NewNode takes
// them. WithMaxTagsSize refuses more than 1 MiB.
func TestAuditZeroMeansTheDefaultAndTagsLimitIsBounded(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	memNode(t, nw, "10.0.0.1:0", cluster.WithReceiveWindow(0), cluster.WithMaxTagsSize(0),
		cluster.WithRequestConcurrency(0))
	memNode(t, nw, "10.0.0.2:0", cluster.WithRequestConcurrency(-1))
	memNode(t, nw, "10.0.0.3:0", cluster.WithMaxTagsSize(1<<20))
	_, err := cluster.NewNode("10.0.0.4:0", cluster.WithTransport(nw), cluster.WithMaxTagsSize(1<<20+1))
	assert.Error(t, err, "a tags limit over 1 MiB")
}

// The tags limit counts the bytes of keys and values, 16 KiB by default:
// tags of exactly the limit are taken, one byte more fails with
// ErrTagsTooLarge, from WithTags as from SetTags, and a refused SetTags
// changes nothing.
func TestAuditTagsLimitCountsKeysAndValues(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	exact := map[string]string{"k": strings.Repeat("v", cluster.DefaultMaxTagsSize-1)}
	over := map[string]string{"kk": strings.Repeat("v", cluster.DefaultMaxTagsSize-1)}
	n := memNode(t, nw, "10.0.0.1:0", cluster.WithTags(exact))
	assert.Equal(t, exact, n.Tags())
	_, err := cluster.NewNode("10.0.0.2:0", cluster.WithTransport(nw), cluster.WithTags(over))
	assert.ErrorIs(t, err, cluster.ErrTagsTooLarge)

	require.NoError(t, n.SetTags(map[string]string{"role": "db"}))
	assert.ErrorIs(t, n.SetTags(over), cluster.ErrTagsTooLarge)
	assert.Equal(t, map[string]string{"role": "db"}, n.Tags(), "a refused SetTags changes nothing")
	require.NoError(t, n.SetTags(exact))
}

// Tags and Info return maps that are the caller's, and neither the map given
// to WithTags nor the one given to SetTags is kept by the node.
func TestAuditTagsMapsAreTheCallers(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	given := map[string]string{"role": "db"}
	a := memNode(t, nw, "10.0.0.1:0", cluster.WithTags(given))
	b := memNode(t, nw, "10.0.0.2:0")
	given["role"] = "changed by the caller"
	mine := a.Tags()
	mine["role"] = "changed again"
	assert.Equal(t, map[string]string{"role": "db"}, a.Tags())

	require.NoError(t, b.Add(a.String()))
	info, ok := b.Info(a.Self())
	require.True(t, ok)
	info.Tags["role"] = "changed by b's caller"
	info, _ = b.Info(a.Self())
	assert.Equal(t, map[string]string{"role": "db"}, info.Tags)

	set := map[string]string{"zone": "eu"}
	require.NoError(t, a.SetTags(set))
	set["zone"] = "us"
	assert.Equal(t, map[string]string{"zone": "eu"}, a.Tags())
}

// Tags and names: "Info returns them from its RemoteAdded on", so a
// RemoteAdded callback that asks Info for the remote gets its name and tags.
func TestAuditInfoHasTheRemotesTagsInItsRemoteAdded(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	type seen struct {
		info cluster.RemoteInfo
		ok   bool
	}
	got := make(chan seen, 1)
	var a *cluster.Node
	ready := make(chan struct{})
	a = memNode(t, nw, "10.0.0.1:0", cluster.WithRemoteAdded(func(r cluster.Remote) {
		<-ready
		info, ok := a.Info(r)
		got <- seen{info, ok}
	}))
	close(ready)
	b := memNode(t, nw, "10.0.0.2:0", cluster.WithName("b"), cluster.WithTags(map[string]string{"role": "db"}))
	require.NoError(t, b.Add(a.String()))
	select {
	case s := <-got:
		require.True(t, s.ok, "Info in RemoteAdded knows the remote")
		assert.Equal(t, "b", s.info.Name)
		assert.Equal(t, map[string]string{"role": "db"}, s.info.Tags)
		assert.True(t, s.info.Remote.Equal(b.Self()))
	case <-time.After(waitFor):
		t.Fatal("no RemoteAdded")
	}
}

// Info and RemoteStats say false of an address that is not a remote.
func TestAuditInfoAndRemoteStatsOfAStranger(t *testing.T) {
	t.Parallel()
	n := memNode(t, mem.NewNetwork(), "10.0.0.1:0")
	stranger := cluster.Remote{IP: net.IPv4(10, 0, 0, 9), Port: 7946}
	_, ok := n.Info(stranger)
	assert.False(t, ok)
	_, ok = n.RemoteStats(stranger)
	assert.False(t, ok)
	assert.Empty(t, n.AllRemoteStats())
}

// Without WithName a node is named "node-" and 16 random hex digits.
func TestAuditDefaultNameIsNodeAndSixteenHexDigits(t *testing.T) {
	t.Parallel()
	n := memNode(t, mem.NewNetwork(), "10.0.0.1:0")
	assert.Regexp(t, regexp.MustCompile(`^node-[0-9a-f]{16}$`), n.Name())
}

// String returns the listen address, and Self the listen address without
// an advertised one; with one of port 0, Self is the advertised IP at the
// listen port.
func TestAuditStringAndSelf(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	n := memNode(t, nw, "10.0.0.1:0")
	assert.Equal(t, n.Addr().String(), n.String())
	assert.Equal(t, n.Addr().String(), n.Self().String())
	adv := memNode(t, nw, "10.0.0.2:0", cluster.WithAdvertiseAddr("192.0.2.7:0"))
	assert.Equal(t, net.JoinHostPort("192.0.2.7", strconv.Itoa(adv.Addr().Port)), adv.Self().String())
}

// Remote.Equal: an IPv4 address and its IPv4-in-IPv6 form are equal; other
// addresses or ports are not.
func TestAuditRemoteEqualTreatsIPv4InIPv6AsIPv4(t *testing.T) {
	t.Parallel()
	v4 := cluster.Remote{IP: net.IP{10, 0, 0, 1}, Port: 7946}
	v4in6 := cluster.Remote{IP: net.IPv4(10, 0, 0, 1), Port: 7946}
	require.Len(t, v4in6.IP, net.IPv6len)
	assert.True(t, v4.Equal(v4in6))
	assert.True(t, v4in6.Equal(v4))
	assert.False(t, v4.Equal(cluster.Remote{IP: net.IP{10, 0, 0, 1}, Port: 7947}))
	assert.False(t, v4.Equal(cluster.Remote{IP: net.IP{10, 0, 0, 2}, Port: 7946}))
}

// Done is closed once Close has begun, and not before: the RemoteRemoved
// callbacks of Close's goodbyes, which run while Close does, find it closed.
func TestAuditDoneClosesWithClose(t *testing.T) {
	t.Parallel()
	nw := mem.NewNetwork()
	var n *cluster.Node
	set := make(chan struct{})
	closedInCallback := make(chan bool, 1)
	n = memNode(t, nw, "10.0.0.1:0", cluster.WithRemoteRemoved(func(cluster.Remote) {
		<-set
		select {
		case <-n.Done():
			closedInCallback <- true
		default:
			closedInCallback <- false
		}
	}))
	close(set)
	require.NoError(t, memNode(t, nw, "10.0.0.2:0").Add(n.String()))
	select {
	case <-n.Done():
		t.Fatal("Done closed before Close")
	default:
	}
	n.Close()
	select {
	case <-n.Done():
	default:
		t.Fatal("Done open after Close")
	}
	assert.True(t, <-closedInCallback, "Done was open in a RemoteRemoved of Close")
}

// "ErrClosed is returned by operations on a node that has been closed":
// every call that can fail says ErrClosed after Close, and Broadcast and
// CloseRemote do nothing.
func TestAuditEveryCallFailsWithErrClosedAfterClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, memStack())
	a, b := h.node(), h.node(cluster.WithRequestHandler(func(context.Context, *cluster.Message) ([]byte, error) {
		return nil, nil
	}))
	mesh(t, a, b)
	a.Close()
	ctx := testContext(t)
	rb := remote(b)
	assert.ErrorIs(t, a.AddContext(ctx, b.String()), cluster.ErrClosed, "AddContext")
	assert.ErrorIs(t, a.SendContext(ctx, rb, []byte("x")), cluster.ErrClosed, "SendContext")
	assert.ErrorIs(t, cluster.SendValue(a, rb, "x"), cluster.ErrClosed, "SendValue")
	_, err := cluster.RequestValue[string](ctx, a, rb, "x")
	assert.ErrorIs(t, err, cluster.ErrClosed, "RequestValue")
	assert.ErrorIs(t, a.SetTags(map[string]string{"k": "v"}), cluster.ErrClosed, "SetTags")
	answers := a.Query(ctx, []byte("q"), rb).Wait()
	require.Len(t, answers, 1, "Query of one remote")
	assert.ErrorIs(t, answers[0].Err, cluster.ErrClosed, "Query's answer")
	a.Broadcast([]byte("x"))
	a.CloseRemote(rb)
	a.Close()
	_, open := <-a.Inbox
	assert.False(t, open)
	assert.Empty(t, a.Remotes())
}

// fillQueues fills a's send queue to each of to, nodes that read nothing,
// until their windows are shut and a's writer has taken all it can: a Send
// to them that would wait fails at once. It runs in a synctest bubble.
func fillQueues(a *cluster.Node, to ...*cluster.Node) {
	full, cancel := context.WithCancel(context.Background())
	cancel()
	for filled := false; !filled; {
		synctest.Wait()
		filled = true
		for _, b := range to {
			for a.SendContext(full, remote(b), make([]byte, 1<<10)) == nil {
				filled = false
			}
		}
	}
}
