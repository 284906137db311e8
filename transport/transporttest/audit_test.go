package transporttest_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport/transporttest"
)

// The tests of this file check, from the public API alone, promises of
// go doc -all ./transport/transporttest that no other test checked when
// they were written.

// handshake runs a TLS handshake between a client and a server
// configuration over loopback TCP and returns the client's and the
// server's errors.
func handshake(t *testing.T, client, server *tls.Config) (clientErr, serverErr error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(10 * time.Second))
		conn := tls.Server(s, server)
		err = conn.Handshake()
		if err == nil {
			// TLS 1.3 verifies the client's certificate after the
			// handshake: a read sees what the server made of it.
			_, err = conn.Read(make([]byte, 1))
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(c, client)
	clientErr = conn.Handshake()
	if clientErr == nil {
		_, clientErr = conn.Write([]byte{1})
	}
	serverErr = <-done
	c.Close()
	return clientErr, serverErr
}

// Config is a mutual-TLS configuration for a node on loopback: a
// certificate for 127.0.0.1 and ::1 issued by the CA, which it presents,
// and only the CA trusted, both ways.
func TestAuditCAConfigIsMutualTLSOnLoopback(t *testing.T) {
	ca := transporttest.NewCA(t)
	cfg := ca.Config(t)
	require.Len(t, cfg.Certificates, 1)
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	require.NoError(t, err)
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	assert.ElementsMatch(t, []string{"127.0.0.1", "::1"}, ips)
	assert.Equal(t, tls.RequireAndVerifyClientCert, cfg.ClientAuth)

	client, server := ca.Config(t), ca.Config(t)
	client.ServerName = "127.0.0.1"
	cerr, serr := handshake(t, client, server)
	assert.NoError(t, cerr, "two configurations of one CA")
	assert.NoError(t, serr, "two configurations of one CA")

	other := transporttest.NewCA(t).Config(t)
	other.ServerName = "127.0.0.1"
	cerr, _ = handshake(t, other, server)
	assert.Error(t, cerr, "a client of another CA trusted the server")

	stranger := other.Clone() // presents another CA's certificate, trusts the server
	stranger.RootCAs = client.RootCAs
	_, serr = handshake(t, stranger, server)
	assert.Error(t, serr, "the server took a client certificate of another CA")
}
