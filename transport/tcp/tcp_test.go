package tcp_test

import (
	"crypto/tls"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/testlog"
	"github.com/peerweave/peerweave/transport/tcp"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) cluster.Transport { return tcp.New() })
}

func TestConformanceTLS(t *testing.T) {
	ca := transporttest.NewCA(t)
	transporttest.Run(t, func(t *testing.T) cluster.Transport { return tcp.New(tcp.WithTLS(ca.Config(t))) })
}

// presenting makes cfg present the certificate of other to every server,
// even one that says it accepts only other authorities, as a client that
// tries its luck does.
func presenting(cfg, other *tls.Config) *tls.Config {
	cert := other.Certificates[0]
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return cfg
}

// withoutCertificate makes cfg present no certificate.
func withoutCertificate(cfg *tls.Config) *tls.Config {
	cfg.Certificates = nil
	return cfg
}

// node starts a node over TCP with cfg (plain TCP if nil), logging to l.
func node(t *testing.T, cfg *tls.Config, l *testlog.Recorder) *cluster.Node {
	t.Helper()
	n, err := cluster.NewNode("127.0.0.1:0",
		cluster.WithTransport(tcp.New(tcp.WithTLS(cfg))),
		cluster.WithLogger(slog.New(l)))
	require.NoError(t, err)
	n.SetNetworkTimeout(2 * time.Second)
	t.Cleanup(n.Close)
	return n
}

func remoteOf(n *cluster.Node) cluster.Remote { return cluster.Remote(*n.Addr()) }

func TestMutualTLSNodesFormACluster(t *testing.T) {
	t.Parallel()
	ca := transporttest.NewCA(t)
	ns := make([]*cluster.Node, 3)
	for i := range ns {
		ns[i] = node(t, ca.Config(t), testlog.New(t))
	}
	require.NoError(t, ns[1].Add(ns[0].String()))
	require.NoError(t, ns[2].Add(ns[1].String()))
	for _, n := range ns {
		require.Eventually(t, func() bool { return len(n.Remotes()) == 2 }, waitFor, 5*time.Millisecond,
			"%s knows %v", n, n.Remotes())
	}
	require.NoError(t, ns[2].Send(remoteOf(ns[0]), []byte("over TLS")))
	select {
	case m := <-ns[0].Inbox:
		assert.Equal(t, "over TLS", string(m.Payload))
		assert.Equal(t, ns[2].String(), m.From.String())
	case <-time.After(waitFor):
		t.Fatal("no message")
	}
}

func TestTLSRefusesPeersItCannotTrust(t *testing.T) {
	t.Parallel()
	ca, rogue := transporttest.NewCA(t), transporttest.NewCA(t)
	for _, c := range []struct {
		name string
		cfg  *tls.Config // of the node that tries to join
		// what the joiner's Add error says, and the member's log
		joinerSees, memberLogs string
	}{
		{"client certificate from another CA", presenting(ca.Config(t), rogue.Config(t)),
			"remote error: tls:", "certificate signed by unknown authority"},
		{"joiner trusts another CA", rogue.Config(t),
			"certificate signed by unknown authority", "tls:"},
		{"no client certificate", withoutCertificate(ca.Config(t)),
			"certificate required", "client didn't provide a certificate"},
		{"plain TCP", nil,
			"", "tls:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			memberLogs := testlog.New(t)
			m := node(t, ca.Config(t), memberLogs)
			j := node(t, c.cfg, testlog.New(t))
			err := j.Add(m.String())
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.joinerSees)
			memberLogs.Wait(t, waitFor, "WARN", "dropping connection: handshake failed", c.memberLogs)
			assert.Empty(t, m.Remotes())
			assert.Empty(t, j.Remotes())
			select {
			case msg := <-m.Inbox:
				t.Fatalf("unexpected message %q", msg.Payload)
			default:
			}
		})
	}
}
