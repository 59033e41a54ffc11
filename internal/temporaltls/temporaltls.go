// Package temporaltls builds the TLS settings of the Temporal client (api and
// worker) from TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA and
// TEMPORAL_TLS_SERVER_NAME, for a cluster whose frontend requires mTLS.
package temporaltls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Variable names.
const (
	EnvCert       = "TEMPORAL_TLS_CERT"
	EnvKey        = "TEMPORAL_TLS_KEY"
	EnvCA         = "TEMPORAL_TLS_CA"
	EnvServerName = "TEMPORAL_TLS_SERVER_NAME"
)

// FromEnv returns the client TLS configuration, or nil when none of the
// variables is set (plain connection, as to the embedded dev server). A
// certificate without its key (or the reverse), an unreadable file or one
// without PEM is an error naming the variable.
func FromEnv(getenv func(string) string) (*tls.Config, error) {
	cert, key := strings.TrimSpace(getenv(EnvCert)), strings.TrimSpace(getenv(EnvKey))
	ca, name := strings.TrimSpace(getenv(EnvCA)), strings.TrimSpace(getenv(EnvServerName))
	if cert == "" && key == "" && ca == "" && name == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	switch {
	case cert != "" && key == "":
		return nil, fmt.Errorf("%s is set but %s is not: a client certificate needs its key", EnvCert, EnvKey)
	case key != "" && cert == "":
		return nil, fmt.Errorf("%s is set but %s is not: a client key needs its certificate", EnvKey, EnvCert)
	case cert != "":
		certPEM, err := readPEM(EnvCert, cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readPEM(EnvKey, key)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s / %s: %s and %s are not a certificate and its key: %w", EnvCert, EnvKey, cert, key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if ca != "" {
		caPEM, err := readPEM(EnvCA, ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", EnvCA, ca)
		}
		c.RootCAs = pool
	}
	return c, nil
}

func readPEM(variable, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read %s: %v", variable, path, err)
	}
	if !strings.Contains(string(b), "-----BEGIN ") {
		return nil, fmt.Errorf("%s: %s is not PEM", variable, path)
	}
	return b, nil
}
