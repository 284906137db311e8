package selfsigned

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// A session between two ends with such certificates completes, the client
// verifying nothing, and each end sees the other's certificate.
func TestCertificateServesBothEnds(t *testing.T) {
	server, err := Certificate()
	require.NoError(t, err)
	client, err := Certificate()
	require.NoError(t, err)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS13})
	cli := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{client}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	require.NoError(t, cli.Handshake())
	require.NoError(t, <-done)
	require.Len(t, srv.ConnectionState().PeerCertificates, 1)
	require.Len(t, cli.ConnectionState().PeerCertificates, 1)
}
