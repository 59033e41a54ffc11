package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultWebhookTimeout bounds one webhook attempt, connection to last body byte.
	DefaultWebhookTimeout = 15 * time.Second
	// UserAgent is sent with every webhook.
	UserAgent = "orderintake-webhooks/1"
	// MaxRetryAfter bounds how far a receiver's Retry-After can push the next attempt.
	MaxRetryAfter = 24 * time.Hour

	secretPrefix = "whsec_"
)

// WebhookRequest is one webhook to send.
type WebhookRequest struct {
	MessageID string            // `webhook-id`, stable across retries (caller passes the postback id)
	URL       string            // http or https
	Body      []byte            // rendered template output
	Format    string            // "json" -> application/json, "xml" -> application/xml ("" means json)
	Secrets   []string          // "whsec_<base64>"; one v1 signature per secret, space-separated (rotation)
	Timestamp time.Time         // `webhook-timestamp` (unix seconds), caller passes attempt time; zero: now
	Headers   map[string]string // extra headers (optional); cannot replace the signature headers
}

// WebhookSender posts signed webhooks through a Guard. It is safe for concurrent use and
// keeps connections alive between sends, so make one per process, not one per send.
type WebhookSender struct {
	client *http.Client
}

// NewWebhookSender builds a sender whose every connection goes through g (nil: refuse all
// private destinations). timeout 0 means 15 s.
func NewWebhookSender(g *Guard, timeout time.Duration) *WebhookSender {
	if g == nil {
		g = &Guard{}
	}
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	tr := guardedTransport(g, timeout)
	return &WebhookSender{client: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A redirect is the receiver's problem to fix, and following one would let a public
		// URL bounce us elsewhere; the 3xx is returned as is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// guardedTransport dials only through g and never through a proxy.
func guardedTransport(g *Guard, timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                  nil, // never HTTP(S)_PROXY: a proxy would dial for us and bypass the Guard
		DialContext:            g.DialContext,
		ForceAttemptHTTP2:      true, // a custom DialContext turns HTTP/2 off unless asked
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxResponseBody,
	}
}

// CloseIdleConnections closes kept-alive connections (tests, shutdown).
func (s *WebhookSender) CloseIdleConnections() { s.client.CloseIdleConnections() }

// Send makes one attempt. It never returns an error: every failure is in the Result.
func (s *WebhookSender) Send(ctx context.Context, req WebhookRequest) (res Result) {
	start := time.Now()
	a := &res.Attempt
	a.StartedAt = start
	a.RequestBody = req.Body
	defer func() { a.Duration = time.Since(start) }()

	httpReq, err := buildWebhookRequest(ctx, req, start)
	if err != nil {
		res.fail(Permanent, KindConfig, err.Error())
		return res
	}
	a.RequestHeaders = flattenHeaders(httpReq.Header)
	if httpReq.URL.User != nil {
		// net/http turns URL user info into Basic auth after we look at the headers.
		a.RequestHeaders["Authorization"] = redacted
	}

	var remoteMu sync.Mutex
	var remote string
	setRemote := func(ip string) {
		remoteMu.Lock()
		remote = ip
		remoteMu.Unlock()
	}
	trace := &httptrace.ClientTrace{
		// ConnectDone also fires for a TLS or refused failure; GotConn covers kept-alive reuse.
		ConnectDone: func(_, addr string, _ error) {
			if ap, err := netip.ParseAddrPort(addr); err == nil {
				setRemote(ap.Addr().String())
			}
		},
		GotConn: func(info httptrace.GotConnInfo) { setRemote(addrIP(info.Conn.RemoteAddr())) },
	}
	httpReq = httpReq.WithContext(httptrace.WithClientTrace(httpReq.Context(), trace))

	resp, err := s.client.Do(httpReq)
	remoteMu.Lock()
	a.ResolvedIP = remote
	remoteMu.Unlock()
	if err != nil {
		o, kind, ip := classifyNetErr(err)
		if kind == "" {
			kind = KindHTTP // connected, but no well-formed answer
		}
		if ip != "" { // the address that failed, rather than one a retried request used before
			a.ResolvedIP = ip
		}
		res.fail(o, kind, shortErr(err))
		return res
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	_ = resp.Body.Close() // the rest of an oversized body is not worth a kept-alive connection
	a.ResponseStatus = resp.StatusCode
	a.ResponseHeaders = flattenHeaders(resp.Header)
	a.ResponseBody = body
	res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())

	code := resp.StatusCode
	status := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	switch {
	case strings.EqualFold(strings.TrimSpace(resp.Header.Get("Webhook-Delivery")), "abort-message"):
		res.fail(Aborted, KindHTTP, status+": receiver asked us to stop (webhook-delivery: abort-message)")
		if code >= 200 && code < 300 {
			a.ErrorKind = KindNone
		}
	case code >= 200 && code < 300:
		res.Outcome = Delivered
		if readErr != nil {
			// Delivered all the same: the status is the receiver's verdict.
			a.Error = "response body cut short: " + shortErr(readErr)
		}
	case code >= 300 && code < 400:
		loc := resp.Header.Get("Location")
		res.fail(Permanent, KindHTTP, fmt.Sprintf("%s: redirect to %q not followed", status, loc))
	case code == http.StatusGone:
		res.fail(Gone, KindHTTP, status+": the receiver retired this endpoint")
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooEarly,
		code == http.StatusTooManyRequests, code >= 500 && code < 600:
		res.fail(Retry, KindHTTP, status)
	default:
		res.fail(Permanent, KindHTTP, status)
	}
	return res
}

// configError is a problem with the trigger's settings: retrying cannot fix it.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func buildWebhookRequest(ctx context.Context, req WebhookRequest, now time.Time) (*http.Request, error) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, &configError{"webhook URL must be an absolute http or https URL"}
	}
	var contentType string
	switch strings.ToLower(req.Format) {
	case "", "json":
		contentType = "application/json"
	case "xml":
		contentType = "application/xml"
	default:
		return nil, &configError{fmt.Sprintf("unknown webhook format %q (want json or xml)", req.Format)}
	}
	if req.MessageID == "" {
		return nil, &configError{"webhook message id is empty"}
	}
	if len(req.Secrets) == 0 {
		return nil, &configError{"no webhook signing secret"}
	}
	ts := req.Timestamp
	if ts.IsZero() {
		ts = now
	}
	sigs := make([]string, 0, len(req.Secrets))
	for i, sec := range req.Secrets {
		key, err := decodeSecret(sec)
		if err != nil {
			return nil, &configError{fmt.Sprintf("webhook secret #%d: %v", i+1, err)}
		}
		sigs = append(sigs, sign(key, req.MessageID, ts, req.Body))
	}

	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		return nil, &configError{"cannot build webhook request: " + shortErr(err)}
	}
	for k, v := range req.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return nil, &configError{fmt.Sprintf("invalid extra header %q", k)}
		}
		switch strings.ToLower(k) {
		case "host", "content-length", "transfer-encoding", "connection":
			continue // framing is ours to set
		}
		httpReq.Header.Set(k, v)
	}
	// Set after the extras so a template cannot forge the signature or the content type.
	httpReq.Header.Set("Content-Type", contentType)
	httpReq.Header.Set("User-Agent", UserAgent)
	httpReq.Header.Set("Webhook-Id", req.MessageID)
	httpReq.Header.Set("Webhook-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	httpReq.Header.Set("Webhook-Signature", strings.Join(sigs, " "))
	return httpReq, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseRetryAfter reads delay-seconds or an HTTP-date; absent, past or garbage gives 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d <= 0 {
			return 0
		}
		return min(d, MaxRetryAfter)
	}
	return 0
}

// Sign returns "v1,<base64 HMAC-SHA256(secret bytes, id + "." + unix ts + "." + body)>" as
// Standard Webhooks specifies (secret = base64-decoded part after "whsec_").
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return sign(key, msgID, ts, body), nil
}

var errBadSecret = errors.New("not a whsec_ secret (base64 after the prefix)")

func decodeSecret(secret string) ([]byte, error) {
	// The prefix is optional, as in the reference libraries; the error never echoes the value.
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errBadSecret
	}
	return key, nil
}

var dot = []byte{'.'}

func sign(key []byte, msgID string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	var scratch [24]byte
	_, _ = io.WriteString(mac, msgID)
	mac.Write(dot)
	mac.Write(strconv.AppendInt(scratch[:0], ts.Unix(), 10))
	mac.Write(dot)
	mac.Write(body)
	var sum [sha256.Size]byte
	var out [3 + 44]byte // "v1," + base64 of 32 bytes
	copy(out[:], "v1,")
	base64.StdEncoding.Encode(out[3:], mac.Sum(sum[:0]))
	return string(out[:])
}

// NewSecret returns a fresh signing secret: "whsec_" + base64(32 random bytes).
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}
