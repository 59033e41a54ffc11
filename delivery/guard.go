package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Guard refuses destinations on private networks, checked at dial time after DNS (so DNS
// rebinding is caught): loopback, RFC 1918, link-local (incl. the 169.254.169.254 metadata
// address), CGNAT 100.64/10, unspecified, multicast, broadcast, IPv6 ULA fc00::/7, IPv6
// link-local, the IPv4-mapped/-compatible, NAT64 and 6to4 forms of any of those, 0.0.0.0/8,
// and the reserved and documentation ranges (nothing legitimate lives there).
//
// The zero Guard refuses all of them; a nil *Guard behaves like the zero Guard.
type Guard struct {
	AllowPrivate bool           // dev/tests: allow everything
	Allow        []netip.Prefix // allow-list that overrides the refusal
	Resolver     *net.Resolver  // nil: net.DefaultResolver
}

// BlockedError is returned when a destination resolves to a refused address.
type BlockedError struct {
	Host string
	IP   netip.Addr
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("destination %s resolves to a private address (%s)", e.Host, e.IP)
}

var (
	blocked4 = mustPrefixes(
		"0.0.0.0/8",          // "this network", incl. unspecified
		"10.0.0.0/8",         // RFC 1918
		"100.64.0.0/10",      // CGNAT
		"127.0.0.0/8",        // loopback
		"169.254.0.0/16",     // link-local, cloud metadata
		"172.16.0.0/12",      // RFC 1918
		"192.0.0.0/24",       // IETF protocol assignments
		"192.0.2.0/24",       // TEST-NET-1
		"192.168.0.0/16",     // RFC 1918
		"198.18.0.0/15",      // benchmarking
		"198.51.100.0/24",    // TEST-NET-2
		"203.0.113.0/24",     // TEST-NET-3
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved, incl. 255.255.255.255 broadcast
		"255.255.255.255/32", // broadcast (already in 240/4; named for the reader)
	)
	blocked6 = mustPrefixes(
		"::/128",         // unspecified
		"::1/128",        // loopback
		"100::/64",       // discard-only
		"64:ff9b:1::/48", // local-use NAT64: translates into the operator's own network
		"2001:db8::/32",  // documentation
		"fc00::/7",       // unique local
		"fe80::/10",      // link-local
		"fec0::/10",      // deprecated site-local
		"ff00::/8",       // multicast
	)
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	compat4 = netip.MustParsePrefix("::/96") // deprecated IPv4-compatible addresses
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Check reports whether ip may be dialled: nil, or a *BlockedError.
func (g *Guard) Check(ip netip.Addr) error {
	if g != nil && g.AllowPrivate {
		return nil
	}
	if !ip.IsValid() {
		return &BlockedError{Host: "(invalid address)", IP: ip}
	}
	// Zoned addresses never match a prefix; the zone says nothing about the range anyway.
	bare := ip.WithZone("")
	forms := addrForms(bare)
	if g != nil {
		for _, f := range forms {
			for _, p := range g.Allow {
				if p.Contains(f) {
					return nil
				}
			}
		}
	}
	for _, f := range forms {
		if isRefused(f) {
			return &BlockedError{Host: ip.String(), IP: ip}
		}
	}
	return nil
}

// addrForms returns ip and the IPv4 address it embeds, if any, so that
// ::ffff:10.0.0.1, ::10.0.0.1, 64:ff9b::a00:1 and 2002:a00:1:: are judged as 10.0.0.1.
func addrForms(ip netip.Addr) []netip.Addr {
	forms := []netip.Addr{ip}
	if ip.Is4() {
		return forms
	}
	if ip.Is4In6() {
		return append(forms, ip.Unmap())
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), compat4.Contains(ip):
		forms = append(forms, netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo4.Contains(ip):
		forms = append(forms, netip.AddrFrom4([4]byte(b[2:6])))
	}
	return forms
}

func isRefused(ip netip.Addr) bool {
	list := blocked6
	if ip.Is4() {
		list = blocked4
	}
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (g *Guard) resolver() *net.Resolver {
	if g != nil && g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// DialContext resolves host, checks every address, and dials only checked addresses (by IP,
// so there is no second lookup a rebinding DNS server could answer differently). If any
// address of the name is refused the whole destination is: a public name that also points
// into a private network is the shape of an SSRF attempt.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("guard: bad address %q: %w", addr, err)
	}
	var ips []netip.Addr
	if ip, perr := netip.ParseAddr(host); perr == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = g.resolver().LookupNetIP(ctx, lookupNetwork(network), host)
		if err != nil {
			return nil, err // *net.DNSError already names the host
		}
		if len(ips) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
		for i, ip := range ips {
			// The Go resolver reports hosts-file IPv4 entries as ::ffff:a.b.c.d; show and
			// dial them as the IPv4 addresses they are.
			ips[i] = ip.Unmap()
		}
	}
	for _, ip := range ips {
		if err := g.Check(ip); err != nil {
			return nil, &BlockedError{Host: host, IP: ip}
		}
	}

	var d net.Dialer
	var errs []error
	for i, ip := range ips {
		dctx, cancel := partialDeadline(ctx, len(ips)-i)
		conn, err := d.DialContext(dctx, network, net.JoinHostPort(ip.String(), port))
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// partialDeadline gives each of the remaining addresses a fair share of the time left (at
// least 2 s), so one black-holed address does not eat the budget of the others.
func partialDeadline(ctx context.Context, remaining int) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok || remaining <= 1 {
		return context.WithCancel(ctx)
	}
	share := time.Until(deadline) / time.Duration(remaining)
	if share < 2*time.Second {
		share = min(2*time.Second, time.Until(deadline))
	}
	return context.WithTimeout(ctx, share)
}

func lookupNetwork(network string) string {
	switch network {
	case "tcp4", "udp4":
		return "ip4"
	case "tcp6", "udp6":
		return "ip6"
	}
	return "ip"
}
