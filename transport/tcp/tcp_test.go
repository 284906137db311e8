package tcp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second

// authority is a certificate authority made for one test.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newAuthority(t *testing.T, name string) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &authority{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for a node at 127.0.0.1, good for both ends of
// a connection, as every node dials and accepts.
func (ca *authority) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// mutual returns the TLS configuration of a node that presents certs and
// trusts peers signed by trusted, as client and as server.
func mutual(trusted *x509.CertPool, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: certs,
		RootCAs:      trusted,
		ClientCAs:    trusted,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// presenting makes cfg present cert to every server, even one that says
// it accepts only other authorities, as a client that tries its luck does.
func presenting(cfg *tls.Config, cert tls.Certificate) *tls.Config {
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return cfg
}

// logs keeps a node's log records as text.
type logs struct {
	mu      sync.Mutex
	records []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// waitFor waits until a record contains every one of words.
func (l *logs) waitFor(t *testing.T, words ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return slices.ContainsFunc(l.records, func(r string) bool {
			for _, w := range words {
				if !strings.Contains(r, w) {
					return false
				}
			}
			return true
		})
	}, waitFor, 5*time.Millisecond, "no log record with %q", words)
}

// node starts a node over TCP with cfg (plain TCP if nil), logging to l.
func node(t *testing.T, cfg *tls.Config, l *logs) *cluster.Node {
	t.Helper()
	n, err := cluster.NewNode("127.0.0.1:0",
		cluster.WithTransport(tcp.New(tcp.Options{TLS: cfg})),
		cluster.WithLogger(slog.New(l)))
	require.NoError(t, err)
	n.SetNetworkTimeout(2 * time.Second)
	t.Cleanup(n.Close)
	return n
}

func remoteOf(n *cluster.Node) cluster.Remote { return cluster.Remote(*n.Addr()) }

func TestMutualTLSNodesFormACluster(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "cluster CA")
	ns := make([]*cluster.Node, 3)
	for i := range ns {
		ns[i] = node(t, mutual(ca.pool, ca.issue(t, fmt.Sprint("node", i))), &logs{})
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
	ca, rogue := newAuthority(t, "cluster CA"), newAuthority(t, "rogue CA")
	member := ca.issue(t, "member")
	for _, c := range []struct {
		name string
		cfg  *tls.Config // of the node that tries to join
		// what the joiner's Add error says, and the member's log
		joinerSees, memberLogs string
	}{
		{"client certificate from another CA", presenting(mutual(ca.pool), rogue.issue(t, "intruder")),
			"remote error: tls:", "certificate signed by unknown authority"},
		{"joiner trusts another CA", mutual(rogue.pool, rogue.issue(t, "stranger")),
			"certificate signed by unknown authority", "tls:"},
		{"no client certificate", mutual(ca.pool),
			"certificate required", "client didn't provide a certificate"},
		{"plain TCP", nil,
			"", "tls:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			memberLogs := &logs{}
			m := node(t, mutual(ca.pool, member), memberLogs)
			j := node(t, c.cfg, &logs{})
			err := j.Add(m.String())
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.joinerSees)
			memberLogs.waitFor(t, "connection dropped in handshake", c.memberLogs)
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
