package netnstest_test

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/internal/netnstest"
	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The settings of issue 20's report: a 4 MiB payload over a 4 Mbit/s link
// takes about 8.4 s, twenty times the network timeout.
const (
	rate    = "4mbit"
	payload = 4 << 20
	healthy = 200 * time.Millisecond
	timeout = 400 * time.Millisecond
	redial  = 300 * time.Millisecond
	arrival = 60 * time.Second // a generous bound on the transfer
	midway  = 1 << 20          // bytes written before a leave mid-transfer
)

// underway waits until from has written at least bytes to to: a payload
// counts as received only once it is whole, so the sender's count is the
// one that moves during a transfer.
func underway(t *testing.T, from, to *cluster.Node, bytes uint64) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(arrival)
	for {
		if s, _ := from.RemoteStats(clustertest.Remote(to)); s.BytesSent >= bytes {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s wrote less than %d bytes to %s in %v", from, bytes, to, arrival)
		}
	}
}

// runs is how many times each check runs: PEERWEAVE_NETNS_RUNS, or 2.
func runs() int {
	if n, err := strconv.Atoi(os.Getenv("PEERWEAVE_NETNS_RUNS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// transports are the transports the checks run on.
var transports = map[string]func() transport.Transport{
	"tcp":  func() transport.Transport { return tcp.New() },
	"quic": func() transport.Transport { return quic.New() },
}

// pair starts a in the link's namespace A and b in B, with a dialling b.
// removed receives a value for each removal on either side.
func pair(t *testing.T, l *netnstest.Link, tr func() transport.Transport) (a, b *cluster.Node, evA, evB *clustertest.Events, removed <-chan struct{}) {
	t.Helper()
	evA, evB = clustertest.NewEvents(), clustertest.NewEvents()
	lost := make(chan struct{}, 2)
	node := func(ns *netnstest.Namespace, ip string, ev *clustertest.Events) *cluster.Node {
		n, err := cluster.NewNode(ip+":0", cluster.WithTransport(ns.Transport(tr())),
			cluster.WithHealthyInterval(healthy), cluster.WithNetworkTimeout(timeout),
			cluster.WithReconnectInterval(redial), ev.Option(),
			cluster.WithRemoteRemoved(func(cluster.Remote) {
				select {
				case lost <- struct{}{}:
				default:
				}
			}))
		require.NoError(t, err)
		t.Cleanup(n.Close)
		return n
	}
	a, b = node(l.A, l.AddrA, evA), node(l.B, l.AddrB, evB)
	require.NoError(t, a.Add(b.String()))
	clustertest.WaitFullMesh(t, a, b)
	return a, b, evA, evB, lost
}

// removals returns the removals that ev saw.
func removals(ev *clustertest.Events) []cluster.Event {
	return ev.Find(func(e cluster.Event) bool { return e.Kind == cluster.EventRemoved })
}

func TestPayloadOfManyTimeoutsArrivesWhole(t *testing.T) {
	l := netnstest.Shaped(t, rate)
	for name, tr := range transports {
		t.Run(name, func(t *testing.T) {
			arrived := 0
			for i := range runs() {
				a, b, evA, evB, removed := pair(t, l, tr)
				data := bytes.Repeat([]byte{byte(i)}, payload)
				start := time.Now()
				require.NoError(t, a.Send(clustertest.Remote(b), data))
				select {
				case m := <-b.Inbox:
					if assert.True(t, bytes.Equal(data, m.Payload), "payload damaged") {
						arrived++
					}
					t.Logf("run %d: %d bytes in %v", i, len(m.Payload), time.Since(start).Round(time.Millisecond))
				case <-removed:
					t.Errorf("run %d: a remote was removed %v into the transfer", i, time.Since(start).Round(time.Millisecond))
				case <-time.After(arrival):
					t.Errorf("run %d: no payload within %v", i, arrival)
				}
				assert.Empty(t, removals(evA), "a removed b")
				assert.Empty(t, removals(evB), "b removed a")
				a.Close()
				b.Close()
			}
			t.Logf("%s: a %d MiB payload at %s arrived whole with nobody removed in %d of %d runs",
				name, payload>>20, rate, arrived, runs())
		})
	}
}

func TestLeavingMidTransferIsGracefulAndNeverRedialled(t *testing.T) {
	l := netnstest.Shaped(t, rate)
	for name, tr := range transports {
		for _, how := range []string{"CloseRemote", "Close"} {
			t.Run(name+"/"+how, func(t *testing.T) {
				graceful, quiet := 0, 0
				for i := range runs() {
					a, b, _, evB, _ := pair(t, l, tr)
					require.NoError(t, a.Send(clustertest.Remote(b), make([]byte, payload)))
					underway(t, a, b, midway)
					if how == "Close" {
						a.Close()
					} else {
						a.CloseRemote(clustertest.Remote(b))
					}
					err := evB.WaitRemoved(t, a)
					if errors.Is(err, cluster.ErrRemoteLeave) {
						graceful++
					} else {
						t.Errorf("run %d: b removed a for %v", i, err)
					}
					// The removal is final once its event is out: a
					// remote that b would redial stays in its statistics.
					_, redialled := b.RemoteStats(clustertest.Remote(a))
					dials := evB.Find(func(e cluster.Event) bool {
						return e.Kind == cluster.EventDial && e.Addr.String() == a.String()
					})
					if !redialled && len(dials) == 0 {
						quiet++
					} else {
						t.Errorf("run %d: b redials a (in its reconnect set: %v; %d dials)", i, redialled, len(dials))
					}
					a.Close()
					b.Close()
				}
				t.Logf("%s/%s mid-transfer: graceful on the other side in %d of %d runs, never redialled in %d",
					name, how, graceful, runs(), quiet)
			})
		}
	}
}
