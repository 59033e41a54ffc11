package app

import (
	"crypto/tls"
	"net"
	"net/netip"

	"go.temporal.io/sdk/client"
)

// TemporalConnection is how every client of ours dials a Temporal frontend
// (the API, the worker, dev and the bench, ours and its bare floor alike).
// The SDK gzips every request by default (and the server then its
// answers): on loopback that saves no network and costs CPU on both ends,
// ≈ 5 % of the worker's and the dev server's, so a loopback frontend gets
// none; any other keeps the SDK's gzip.
func TemporalConnection(hostPort string, tlsConfig *tls.Config) client.ConnectionOptions {
	conn := client.ConnectionOptions{TLS: tlsConfig}
	if IsLoopback(hostPort) {
		conn.GrpcCompression = &client.GrpcCompressionNone{}
	}
	return conn
}

// IsLoopback reports whether a host:port names this machine (dev, the
// embedded server, a frontend beside the process).
func IsLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
