package temporaltls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
}

func newPKI(t *testing.T) *pki {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &pki{caCert: cert, caKey: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate; it returns cert and key PEM.
func (p *pki) issue(t *testing.T, cn string, usage x509.ExtKeyUsage, dns ...string) ([]byte, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func write(t *testing.T, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A loopback TLS server that requires a client certificate from the test CA,
// as a Temporal frontend with mTLS does; it reports the client's CN.
func mtlsServer(t *testing.T, p *pki, serverName string) (addr string, clientCN <-chan string) {
	certPEM, keyPEM := p.issue(t, serverName, x509.ExtKeyUsageServerAuth, serverName)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cns := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			if err := tc.Handshake(); err == nil {
				if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
					cns <- pc[0].Subject.CommonName
				}
				_, _ = tc.Write([]byte("ok"))
			}
			tc.Close()
		}
	}()
	return ln.Addr().String(), cns
}

func dial(addr string, c *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 2)
	_, err = conn.Read(buf) // TLS 1.3: the server's verdict on our certificate arrives after the handshake
	return err
}

func TestClientPresentsItsCertificateAndVerifiesTheServerName(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	certPEM, keyPEM := p.issue(t, "orderintake-worker", x509.ExtKeyUsageClientAuth)
	vars := map[string]string{
		EnvCert: write(t, dir, "client.pem", certPEM), EnvKey: write(t, dir, "client.key", keyPEM),
		EnvCA: write(t, dir, "ca.pem", p.caPEM), EnvServerName: "temporal.internal",
	}
	getenv := func(k string) string { return vars[k] }
	addr, cns := mtlsServer(t, p, "temporal.internal")

	c, err := FromEnv(getenv)
	if err != nil || c == nil {
		t.Fatalf("FromEnv = %v, %v", c, err)
	}
	if err := dial(addr, c); err != nil {
		t.Fatalf("mTLS handshake with the configured client failed: %v", err)
	}
	if cn := <-cns; cn != "orderintake-worker" {
		t.Fatalf("server saw client certificate %q, want orderintake-worker", cn)
	}

	// The server's certificate is for temporal.internal: another expected name is refused.
	vars[EnvServerName] = "temporal.elsewhere"
	c, _ = FromEnv(getenv)
	if err := dial(addr, c); err == nil || !strings.Contains(err.Error(), "temporal.elsewhere") {
		t.Fatalf("dial with the wrong server name = %v, want a certificate name error", err)
	}

	// Without a client certificate the server refuses us.
	vars[EnvServerName] = "temporal.internal"
	delete(vars, EnvCert)
	delete(vars, EnvKey)
	c, _ = FromEnv(getenv)
	if err := dial(addr, c); err == nil {
		t.Fatal("the mTLS server accepted a client without a certificate")
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	certPEM, keyPEM := p.issue(t, "c", x509.ExtKeyUsageClientAuth)
	cert, key := write(t, dir, "c.pem", certPEM), write(t, dir, "c.key", keyPEM)
	notPEM := write(t, dir, "junk.txt", []byte("hello"))
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{EnvCert: cert}, EnvKey},
		{map[string]string{EnvKey: key}, EnvCert},
		{map[string]string{EnvCert: filepath.Join(dir, "missing.pem"), EnvKey: key}, EnvCert + ": cannot read"},
		{map[string]string{EnvCert: cert, EnvKey: notPEM}, EnvKey + ": "},
		{map[string]string{EnvCert: cert, EnvKey: key, EnvCA: notPEM}, EnvCA + ": "},
		{map[string]string{EnvCert: key, EnvKey: cert}, EnvCert},
	} {
		_, err := FromEnv(func(k string) string { return tc.vars[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromEnv(%v) = %v, want an error naming %q", tc.vars, err, tc.want)
		}
	}
	if c, err := FromEnv(func(string) string { return "" }); c != nil || err != nil {
		t.Errorf("no variables: %v, %v; want a plain connection (nil, nil)", c, err)
	}
}
