package delivery

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestGuardCheckRefusesPrivateAddresses(t *testing.T) {
	var g Guard
	for _, s := range []string{
		"127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254",               // cloud metadata
		"100.64.0.1", "100.127.255.254", // CGNAT
		"0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1", "240.0.0.1",
		"::", "::1", "fd00::1", "fc00::1", "fe80::1", "fe80::1%eth0", "ff02::1",
		"::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", // IPv4-mapped
		"::10.0.0.1",               // IPv4-compatible
		"64:ff9b::a9fe:a9fe",       // NAT64 of 169.254.169.254
		"64:ff9b::7f00:1",          // NAT64 of 127.0.0.1
		"2002:a00:1::1",            // 6to4 of 10.0.0.1
		"64:ff9b:1::a00:1",         // local-use NAT64
		"192.0.2.1", "2001:db8::1", // documentation
	} {
		ip := netip.MustParseAddr(s)
		err := g.Check(ip)
		var be *BlockedError
		if !errors.As(err, &be) {
			t.Errorf("Check(%s) = %v, want *BlockedError", s, err)
			continue
		}
		if be.IP != ip {
			t.Errorf("Check(%s): BlockedError.IP = %s", s, be.IP)
		}
	}
	if err := g.Check(netip.Addr{}); err == nil {
		t.Error("Check(invalid) = nil, want refusal")
	}
}

func TestGuardCheckAllowsPublicAddresses(t *testing.T) {
	var g Guard
	for _, s := range []string{
		"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1", "11.0.0.1",
		"2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	} {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", s, err)
		}
	}
	var nilGuard *Guard
	if nilGuard.Check(netip.MustParseAddr("10.0.0.1")) == nil {
		t.Error("nil Guard allowed 10.0.0.1")
	}
}

func TestGuardAllowList(t *testing.T) {
	g := Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, s := range []string{"10.1.2.3", "::ffff:10.0.0.1", "64:ff9b::a00:1", "fd00::1"} {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("allow-listed %s refused: %v", s, err)
		}
	}
	for _, s := range []string{"127.0.0.1", "169.254.169.254", "100.64.0.1", "fc00::1"} {
		if g.Check(netip.MustParseAddr(s)) == nil {
			t.Errorf("%s allowed by an allow-list that does not name it", s)
		}
	}
	open := Guard{AllowPrivate: true}
	for _, s := range []string{"127.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "fd00::1", "100.64.0.1"} {
		if err := open.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("AllowPrivate refused %s: %v", s, err)
		}
	}
}

// listen returns a loopback listener that accepts and closes connections.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func TestGuardDialLocalhost(t *testing.T) {
	ln := listen(t)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := (&Guard{}).DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	var be *BlockedError
	if !errors.As(err, &be) || be.Host != "localhost" || !be.IP.IsLoopback() {
		t.Fatalf("dial localhost: err = %v, want BlockedError for localhost", err)
	}
	if want := "destination localhost resolves to a private address (" + be.IP.String() + ")"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	allow := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	conn, err := allow.DialContext(ctx, "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("allow-listed dial: %v", err)
	}
	_ = conn.Close()
}

func TestGuardDialChecksEveryResolvedAddress(t *testing.T) {
	dns := startDNS(t)
	ln := listen(t)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// One allowed address and one refused: the whole name is refused, nothing is dialled.
	dns.set("mixed.test", []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")})
	g := &Guard{Resolver: dns.resolver(), Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	_, err := g.DialContext(ctx, "tcp", net.JoinHostPort("mixed.test", port))
	var be *BlockedError
	if !errors.As(err, &be) || be.IP != netip.MustParseAddr("::1") || be.Host != "mixed.test" {
		t.Fatalf("mixed answer: err = %v, want BlockedError for ::1", err)
	}

	_, err = g.DialContext(ctx, "tcp", net.JoinHostPort("nothing.invalid", port))
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("unknown name: err = %v, want not-found DNSError", err)
	}
}
