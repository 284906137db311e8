// Package selfsigned makes the throwaway certificates of TLS sessions whose
// trust comes from elsewhere: the proofs of a shared secret (package
// cluster), or nothing at all (the benchmark's raw QUIC baseline).
//
// transport/quic keeps a copy of its own: a plug-in imports only the core's
// interfaces, so that it reads, and can be copied, on its own.
package selfsigned

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// Certificate returns a new ed25519 key and a certificate for it that signs
// itself, valid from an hour ago for a hundred years, for servers and
// clients alike. Nobody is meant to verify it.
func Certificate() (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(100, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}
