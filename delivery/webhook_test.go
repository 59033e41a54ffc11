package delivery

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

var loopbackOnly = &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}

func newSecret(t testing.TB) string {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSender(t *testing.T, g *Guard, timeout time.Duration) *WebhookSender {
	s := NewWebhookSender(g, timeout)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

// received is what a receiver saw of one request.
type received struct {
	header http.Header
	body   []byte
}

// recorder is a loopback receiver that keeps every request and answers with respond.
func recorder(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), body})
		mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestWebhookSignatureVerifiesWithStandardWebhooksLibrary(t *testing.T) {
	oldSecret, newSec := newSecret(t), newSecret(t)
	srv, got := recorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s := newSender(t, loopbackOnly, 0)

	body := []byte(`{"event":"shipped","orderId":"o-1","trackingCode":"1Z999"}`)
	for _, tc := range []struct {
		name    string
		secrets []string
	}{
		{"one secret", []string{oldSecret}},
		{"rotation", []string{newSec, oldSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.Send(context.Background(), WebhookRequest{
				MessageID: "pb_01HXYZ", URL: srv.URL + "/hooks", Body: body, Format: "json",
				Secrets: tc.secrets, Timestamp: time.Now(),
			})
			if res.Outcome != Delivered || res.Attempt.ResponseStatus != 204 {
				t.Fatalf("outcome %s status %d err %q", res.Outcome, res.Attempt.ResponseStatus, res.Attempt.Error)
			}
			reqs := got()
			last := reqs[len(reqs)-1]
			if !bytes.Equal(last.body, body) {
				t.Errorf("receiver got body %q", last.body)
			}
			// Whatever secret the receiver holds during rotation, the independent library accepts.
			for _, sec := range tc.secrets {
				wh, err := standardwebhooks.NewWebhook(sec)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(last.body, last.header); err != nil {
					t.Errorf("standard-webhooks Verify: %v (signature header %q)", err, last.header.Get("webhook-signature"))
				}
			}
			other, _ := standardwebhooks.NewWebhook(newSecret(t))
			if other.Verify(last.body, last.header) == nil {
				t.Error("a secret we did not sign with verified")
			}
			if n := len(strings.Fields(last.header.Get("webhook-signature"))); n != len(tc.secrets) {
				t.Errorf("%d signatures for %d secrets", n, len(tc.secrets))
			}
			if last.header.Get("webhook-id") != "pb_01HXYZ" {
				t.Errorf("webhook-id %q", last.header.Get("webhook-id"))
			}
			if last.header.Get("Content-Type") != "application/json" || last.header.Get("User-Agent") != "orderintake-webhooks/1" {
				t.Errorf("content-type %q user-agent %q", last.header.Get("Content-Type"), last.header.Get("User-Agent"))
			}
			if res.Attempt.ResolvedIP != "127.0.0.1" {
				t.Errorf("ResolvedIP %q", res.Attempt.ResolvedIP)
			}
			if res.Attempt.RequestHeaders["Webhook-Signature"] != last.header.Get("webhook-signature") {
				t.Errorf("recorded signature %q", res.Attempt.RequestHeaders["Webhook-Signature"])
			}
		})
	}
}

func TestSignMatchesLibrary(t *testing.T) {
	sec := newSecret(t)
	ts := time.Unix(1700000000, 0)
	body := []byte("<order id=\"1\"/>")
	ours, err := Sign(sec, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	wh, _ := standardwebhooks.NewWebhook(sec)
	theirs, _ := wh.Sign("msg_1", ts, body)
	if ours != theirs {
		t.Fatalf("Sign = %q, library = %q", ours, theirs)
	}
	if _, err := Sign("whsec_not base64!", "m", ts, body); err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Fatalf("bad secret: err = %v (must fail without echoing the secret)", err)
	}
	if !strings.HasPrefix(sec, "whsec_") || len(sec) != len("whsec_")+44 {
		t.Fatalf("NewSecret = %q", sec)
	}
}

func TestWebhookHeadersAndRedaction(t *testing.T) {
	sec := newSecret(t)
	srv, got := recorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=abc")
		w.Header().Set("X-Request-Id", "r-1")
		_, _ = io.WriteString(w, "<ok/>")
	})
	s := newSender(t, loopbackOnly, 0)
	res := s.Send(context.Background(), WebhookRequest{
		MessageID: "pb_2", URL: srv.URL, Body: []byte("<event/>"), Format: "xml", Secrets: []string{sec},
		Headers: map[string]string{
			"Authorization":     "Bearer s3cr3t-token",
			"X-Api-Key":         "k-123",
			"X-Customer":        "acme",
			"Webhook-Signature": "v1,forged", // cannot replace ours
		},
	})
	if res.Outcome != Delivered {
		t.Fatalf("outcome %s: %s", res.Outcome, res.Attempt.Error)
	}
	h := got()[0].header
	if h.Get("Authorization") != "Bearer s3cr3t-token" || h.Get("X-Api-Key") != "k-123" || h.Get("Content-Type") != "application/xml" {
		t.Errorf("receiver headers: %v", h)
	}
	wh, _ := standardwebhooks.NewWebhook(sec)
	if err := wh.Verify(got()[0].body, h); err != nil {
		t.Errorf("extra header replaced the signature: %v", err)
	}
	rec := res.Attempt.RequestHeaders
	if rec["Authorization"] != "[redacted]" || rec["X-Api-Key"] != "[redacted]" || rec["X-Customer"] != "acme" {
		t.Errorf("recorded request headers: %v", rec)
	}
	if !strings.HasPrefix(rec["Webhook-Signature"], "v1,") {
		t.Errorf("signature should be kept in the record: %v", rec)
	}
	if res.Attempt.ResponseHeaders["Set-Cookie"] != "[redacted]" || res.Attempt.ResponseHeaders["X-Request-Id"] != "r-1" {
		t.Errorf("recorded response headers: %v", res.Attempt.ResponseHeaders)
	}
	if string(res.Attempt.ResponseBody) != "<ok/>" || string(res.Attempt.RequestBody) != "<event/>" {
		t.Errorf("bodies: req %q resp %q", res.Attempt.RequestBody, res.Attempt.ResponseBody)
	}
	if dump := fmt.Sprintf("%+v", res); strings.Contains(dump, "s3cr3t") || strings.Contains(dump, sec) {
		t.Error("a secret leaked into the Result")
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	var followed atomic.Int32
	retryDate := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/followed":
			followed.Add(1)
			return
		case "/301":
			w.Header().Set("Location", "/followed")
			w.WriteHeader(301)
		case "/429s":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		case "/429d":
			w.Header().Set("Retry-After", retryDate)
			w.WriteHeader(429)
		case "/503":
			w.Header().Set("Retry-After", "999999999")
			w.WriteHeader(503)
		case "/abort":
			w.Header().Set("webhook-delivery", "abort-message")
			w.WriteHeader(500)
		default:
			var code int
			_, _ = fmt.Sscanf(r.URL.Path, "/%d", &code)
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(srv.Close)
	s := newSender(t, &Guard{AllowPrivate: true}, 0)
	sec := newSecret(t)

	for _, tc := range []struct {
		path       string
		status     int
		outcome    Outcome
		kind       string
		retryAfter time.Duration
	}{
		{"/200", 200, Delivered, "", 0},
		{"/204", 204, Delivered, "", 0},
		{"/301", 301, Permanent, "http", 0},
		{"/400", 400, Permanent, "http", 0},
		{"/404", 404, Permanent, "http", 0},
		{"/408", 408, Retry, "http", 0},
		{"/409", 409, Retry, "http", 0},
		{"/410", 410, Gone, "http", 0},
		{"/425", 425, Retry, "http", 0},
		{"/429s", 429, Retry, "http", 120 * time.Second},
		{"/429d", 429, Retry, "http", 2 * time.Minute},
		{"/500", 500, Retry, "http", 0},
		{"/503", 503, Retry, "http", 24 * time.Hour}, // absurd Retry-After capped
		{"/abort", 500, Aborted, "http", 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res := s.Send(context.Background(), WebhookRequest{MessageID: "pb", URL: srv.URL + tc.path, Body: []byte("{}"), Secrets: []string{sec}})
			a := res.Attempt
			if res.Outcome != tc.outcome || a.ResponseStatus != tc.status || a.ErrorKind != tc.kind {
				t.Fatalf("got %s/%d/%q (%s), want %s/%d/%q", res.Outcome, a.ResponseStatus, a.ErrorKind, a.Error, tc.outcome, tc.status, tc.kind)
			}
			if tc.outcome != Delivered && a.Error == "" {
				t.Error("no error message")
			}
			// The date form loses sub-second precision and some time passes in flight.
			if d := res.RetryAfter - tc.retryAfter; d > 0 || d < -3*time.Second {
				t.Errorf("RetryAfter %v, want about %v", res.RetryAfter, tc.retryAfter)
			}
			if tc.path == "/301" && !strings.Contains(a.Error, "/followed") {
				t.Errorf("redirect error should name the Location: %q", a.Error)
			}
			if a.StartedAt.IsZero() || a.Duration <= 0 {
				t.Errorf("timing not recorded: %v %v", a.StartedAt, a.Duration)
			}
		})
	}
	if followed.Load() != 0 {
		t.Error("a redirect was followed")
	}
}

func TestWebhookNetworkFailures(t *testing.T) {
	sec := newSecret(t)
	send := func(s *WebhookSender, url string) Result {
		return s.Send(context.Background(), WebhookRequest{MessageID: "pb", URL: url, Body: []byte("{}"), Secrets: []string{sec}})
	}

	t.Run("timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Read the body first: only then does the server watch the connection and cancel
			// r.Context() when the sender gives up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		t.Cleanup(srv.Close)
		start := time.Now()
		res := send(newSender(t, loopbackOnly, 200*time.Millisecond), srv.URL)
		if res.Outcome != Retry || res.Attempt.ErrorKind != "timeout" {
			t.Fatalf("got %s/%q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("timeout took %v", el)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		res := send(newSender(t, loopbackOnly, 0), "http://"+addr+"/")
		if res.Outcome != Retry || res.Attempt.ErrorKind != "connect" || res.Attempt.ResolvedIP != "127.0.0.1" {
			t.Fatalf("got %s/%q ip %q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.ResolvedIP, res.Attempt.Error)
		}
	})

	t.Run("unresolvable", func(t *testing.T) {
		dns := startDNS(t)
		res := send(newSender(t, &Guard{Resolver: dns.resolver()}, 0), "https://hooks.nothing.invalid/x")
		if res.Outcome != Retry || res.Attempt.ErrorKind != "dns" {
			t.Fatalf("got %s/%q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		srv := quietTLSServer(t, func(http.ResponseWriter, *http.Request) {})
		res := send(newSender(t, loopbackOnly, 0), srv.URL)
		if res.Outcome != Retry || res.Attempt.ErrorKind != "tls" || res.Attempt.ResolvedIP != "127.0.0.1" {
			t.Fatalf("got %s/%q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
		}
	})

	t.Run("response capped at 64 KiB", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte("x"), 200<<10))
		}))
		t.Cleanup(srv.Close)
		res := send(newSender(t, loopbackOnly, 0), srv.URL)
		if res.Outcome != Delivered || len(res.Attempt.ResponseBody) != 64<<10 {
			t.Fatalf("got %s with %d body bytes", res.Outcome, len(res.Attempt.ResponseBody))
		}
	})

	t.Run("bad config", func(t *testing.T) {
		s := newSender(t, loopbackOnly, 0)
		for _, req := range []WebhookRequest{
			{MessageID: "pb", URL: "ftp://example.com/", Secrets: []string{sec}},
			{MessageID: "pb", URL: "http://127.0.0.1:1/", Secrets: []string{"whsec_%%%secret%%%"}},
			{MessageID: "pb", URL: "http://127.0.0.1:1/", Secrets: nil},
			{MessageID: "pb", URL: "http://127.0.0.1:1/", Secrets: []string{sec}, Format: "yaml"},
			{MessageID: "pb", URL: "http://127.0.0.1:1/", Secrets: []string{sec}, Headers: map[string]string{"X-Bad": "a\r\nInjected: 1"}},
		} {
			res := s.Send(context.Background(), req)
			if res.Outcome != Permanent || res.Attempt.ErrorKind != "config" || strings.Contains(res.Attempt.Error, "secret%%%") {
				t.Errorf("%+v: got %s/%q: %s", req, res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
			}
		}
	})
}

func TestWebhookGuardAtDialTime(t *testing.T) {
	// Connection: close, so that every send dials (and so resolves and checks) anew.
	srv, got := recorder(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Connection", "close") })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	sec := newSecret(t)
	dns := startDNS(t)
	send := func(s *WebhookSender, host string) Result {
		return s.Send(context.Background(), WebhookRequest{MessageID: "pb", URL: "http://" + net.JoinHostPort(host, port) + "/", Body: []byte("{}"), Secrets: []string{sec}})
	}
	blocked := func(t *testing.T, res Result, ip string) {
		t.Helper()
		if res.Outcome != Permanent || res.Attempt.ErrorKind != "blocked" || res.Attempt.ResolvedIP != ip ||
			!strings.Contains(res.Attempt.Error, "resolves to a private address ("+ip+")") {
			t.Fatalf("got %s/%q ip %q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.ResolvedIP, res.Attempt.Error)
		}
	}

	strict := newSender(t, &Guard{Resolver: dns.resolver()}, 0)
	blocked(t, send(strict, "localhost"), "127.0.0.1")
	blocked(t, send(strict, "::ffff:127.0.0.1"), "::ffff:127.0.0.1")
	dns.set("hooks.rebind.test", []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	blocked(t, send(strict, "hooks.rebind.test"), "127.0.0.1")
	if n := len(got()); n != 0 {
		t.Fatalf("receiver was reached %d times by blocked sends", n)
	}

	// Rebinding: the name first answers an allowed address, then one that is not. Each new
	// connection resolves again and checks what it is about to dial.
	dns.set("flip.rebind.test",
		[]netip.Addr{netip.MustParseAddr("127.0.0.1")},
		[]netip.Addr{netip.MustParseAddr("127.0.0.2")})
	g := &Guard{Resolver: dns.resolver(), Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	s := newSender(t, g, 0)
	if res := send(s, "flip.rebind.test"); res.Outcome != Delivered || res.Attempt.ResolvedIP != "127.0.0.1" {
		t.Fatalf("first send: %s ip %q: %s", res.Outcome, res.Attempt.ResolvedIP, res.Attempt.Error)
	}
	s.CloseIdleConnections()
	blocked(t, send(s, "flip.rebind.test"), "127.0.0.2")
	if n := len(got()); n != 1 {
		t.Fatalf("receiver reached %d times, want 1", n)
	}

	if res := send(newSender(t, &Guard{AllowPrivate: true}, 0), "localhost"); res.Outcome != Delivered {
		t.Fatalf("AllowPrivate: %s: %s", res.Outcome, res.Attempt.Error)
	}
}

// TLS is verified against the URL's host name even though the Guard dials the resolved IP.
func TestWebhookTLSVerifiesHostNameWhileDialingIP(t *testing.T) {
	srv := quietTLSServer(t, func(http.ResponseWriter, *http.Request) {})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := startDNS(t)
	// httptest's certificate is for example.com; our DNS points that name at loopback.
	dns.set("example.com", []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	dns.set("wrong.test", []netip.Addr{netip.MustParseAddr("127.0.0.1")})
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	s := newSender(t, &Guard{Resolver: dns.resolver(), Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, 0)
	s.client.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	sec := newSecret(t)

	res := s.Send(context.Background(), WebhookRequest{MessageID: "pb", URL: "https://example.com:" + port + "/", Body: []byte("{}"), Secrets: []string{sec}})
	if res.Outcome != Delivered || res.Attempt.ResolvedIP != "127.0.0.1" {
		t.Fatalf("got %s ip %q: %s", res.Outcome, res.Attempt.ResolvedIP, res.Attempt.Error)
	}
	res = s.Send(context.Background(), WebhookRequest{MessageID: "pb", URL: "https://wrong.test:" + port + "/", Body: []byte("{}"), Secrets: []string{sec}})
	if res.Outcome != Retry || res.Attempt.ErrorKind != "tls" {
		t.Fatalf("name mismatch: got %s/%q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
	}
}

// quietTLSServer is httptest.NewTLSServer without the handshake-failure log lines that the
// tests provoke on purpose.
func quietTLSServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func BenchmarkSign(b *testing.B) {
	sec := newSecret(b)
	body := bytes.Repeat([]byte(`{"k":"v"},`), 100) // ~1 KB, a typical postback
	ts := time.Unix(1700000000, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Sign(sec, "pb_01HXYZABCDEF", ts, body); err != nil {
			b.Fatal(err)
		}
	}
}
