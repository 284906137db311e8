package quic

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// tlsConfigs returns the server and client configurations, made once: from
// the configuration given WithTLS if any, else with a new self-signed
// certificate and no verification of peers.
func (t *Transport) tlsConfigs() (server, client *tls.Config, err error) {
	t.tlsOnce.Do(func() {
		base := t.cfg.tls
		if base == nil {
			base, t.tlsErr = selfSigned()
		}
		if t.tlsErr != nil {
			return
		}
		t.server = base.Clone()
		t.server.NextProtos = []string{Protocol}
		t.client = base.Clone()
		t.client.NextProtos = []string{Protocol}
	})
	return t.server, t.client, t.tlsErr
}

// selfSigned returns a configuration with a new self-signed certificate that
// neither verifies peers nor asks clients for a certificate.
func selfSigned() (*tls.Config, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("quic: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("quic: generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "peerweave node"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("quic: self-signed certificate: %w", err)
	}
	return &tls.Config{
		Certificates:       []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		InsecureSkipVerify: true, // no identities: see the package doc
		MinVersion:         tls.VersionTLS13,
	}, nil
}
