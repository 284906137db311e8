package quic_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestMutualTLSConnects(t *testing.T) {
	ca := transporttest.NewCA(t)
	ln := listen(t, quic.New(quic.WithTLS(ca.Config(t))))
	d, a := connect(t, quic.New(quic.WithTLS(ca.Config(t))), ln)
	roundTrip(t, d, a)
}

func TestServerFromAnotherCAIsRefused(t *testing.T) {
	ours, theirs := transporttest.NewCA(t), transporttest.NewCA(t)
	refused(t, theirs.Config(t), ours.Config(t))
}

func TestClientFromAnotherCAIsRefused(t *testing.T) {
	ours, theirs := transporttest.NewCA(t), transporttest.NewCA(t)
	client := theirs.Config(t)
	client.RootCAs = ours.Config(t).RootCAs // it trusts us; we do not trust it
	refused(t, ours.Config(t), client)
}

func TestClientWithoutCertificateIsRefused(t *testing.T) {
	ca := transporttest.NewCA(t)
	client := ca.Config(t)
	client.Certificates = nil
	refused(t, ca.Config(t), client)
}

func TestVerifyingServerRefusesDefaultClient(t *testing.T) {
	refused(t, transporttest.NewCA(t).Config(t), nil)
}

// A default transport verifies no peer: it accepts a client whose
// certificate it cannot check, and trusts any server.
func TestDefaultVerifiesNobody(t *testing.T) {
	ca := transporttest.NewCA(t)
	client := ca.Config(t)
	client.InsecureSkipVerify = true // so that only the server's checks matter
	d, a := connect(t, quic.New(quic.WithTLS(client)), listen(t, quic.New()))
	roundTrip(t, d, a)

	server := ca.Config(t)
	server.ClientAuth = tls.NoClientCert // so that only the client's checks matter
	d, a = connect(t, quic.New(), listen(t, quic.New(quic.WithTLS(server))))
	roundTrip(t, d, a)
}

// refused checks that a client configured with client cannot connect to a
// server configured with server, and that the server accepts nothing.
func refused(t *testing.T, server, client *tls.Config) {
	t.Helper()
	ln := listen(t, quic.New(quic.WithTLS(server)))
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := dial(quic.New(quic.WithTLS(client)), ln.Addr().String())
	if !assert.Error(t, err, "the dial must fail") {
		c.Close()
	}
	require.NoError(t, ln.Close())
	assert.Nil(t, <-accepted, "the server must not accept the connection")
}
