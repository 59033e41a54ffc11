package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	oi "orderintake"
)

// Outcome tells the caller what to do after one attempt.
type Outcome string

const (
	Delivered Outcome = "delivered"
	Retry     Outcome = "retry"     // try again later (network errors, timeouts, 5xx, 408/409/425/429, SMTP 4xx)
	Permanent Outcome = "permanent" // other 4xx, SMTP 5xx, blocked destination, bad config
	Gone      Outcome = "gone"      // HTTP 410: caller disables the trigger
	Aborted   Outcome = "aborted"   // receiver answered header `webhook-delivery: abort-message`
)

// ErrorKind values of Attempt.ErrorKind.
const (
	KindNone    = ""
	KindDNS     = "dns"
	KindConnect = "connect"
	KindTLS     = "tls"
	KindTimeout = "timeout"
	KindHTTP    = "http"
	KindSMTP    = "smtp"
	KindBlocked = "blocked"
	KindConfig  = "config"
)

// MaxResponseBody is how much of a response body an Attempt keeps (and how much is read).
const MaxResponseBody = 64 << 10

// Attempt is what we record of one try (DESIGN.md "Attempt record").
type Attempt struct {
	StartedAt       time.Time
	Duration        time.Duration
	ResolvedIP      string
	RequestHeaders  map[string]string // secrets redacted (oi.SecretHeader); webhook-signature kept (not a secret)
	RequestBody     []byte
	ResponseStatus  int // HTTP status, or SMTP reply code when known
	ResponseHeaders map[string]string
	ResponseBody    []byte // first 64 KiB
	ErrorKind       string // "", "dns", "connect", "tls", "timeout", "http", "smtp", "blocked", "config"
	Error           string // short human message, no secrets
}

// Result is one attempt and what it means for the delivery.
type Result struct {
	Attempt    Attempt
	Outcome    Outcome
	RetryAfter time.Duration // from Retry-After (seconds or HTTP date), 0 when absent; capped at MaxRetryAfter
}

func (r *Result) fail(o Outcome, kind, msg string) {
	r.Outcome = o
	r.Attempt.ErrorKind = kind
	r.Attempt.Error = msg
}

const redacted = oi.Redacted

// flattenHeaders joins repeated values and redacts secrets, for the Attempt record.
func flattenHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if oi.SecretHeader(k) {
			out[k] = redacted
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// classifyNetErr maps a transport-level failure (no usable answer from the other side)
// to an outcome, an error kind and the IP involved when the error names one.
func classifyNetErr(err error) (o Outcome, kind string, ip string) {
	var be *BlockedError
	if errors.As(err, &be) {
		return Permanent, KindBlocked, be.IP.String()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return Retry, KindDNS, ""
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		ip = addrIP(opErr.Addr)
	}
	switch {
	case isTimeout(err), errors.Is(err, context.Canceled):
		return Retry, KindTimeout, ip
	case isTLSErr(err):
		return Retry, KindTLS, ip
	case opErr != nil:
		return Retry, KindConnect, ip
	}
	return Retry, "", ip
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLSErr(err error) bool {
	var (
		rh  tls.RecordHeaderError
		al  tls.AlertError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		ech *tls.ECHRejectionError
	)
	return errors.As(err, &rh) || errors.As(err, &al) || errors.As(err, &cv) ||
		errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &ech) ||
		strings.Contains(err.Error(), "tls: ")
}

// addrIP returns the IP of a net.Addr, without port or zone decoration.
func addrIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().String()
	}
	return a.String()
}

// shortErr drops the *url.Error wrapping, which repeats the URL (and a URL can carry a
// token in its query or user info).
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}
