package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// PrinterRequest is one call to a printer: an order's final request or a cancel.
type PrinterRequest struct {
	URL     string
	Headers map[string]string
	Body    []byte
	Timeout time.Duration // 0: DefaultPrinterTimeout
}

// PrinterResponse is the printer's answer.
type PrinterResponse struct {
	Status  int
	Headers http.Header
	Body    []byte // the first MaxResponseBody bytes
	Latency time.Duration
}

// DefaultPrinterTimeout bounds a printer call when the printer sets none.
const DefaultPrinterTimeout = 2 * time.Minute

// PrinterClient calls printers through the same dial-time Guard and
// allow-list as webhooks, and never through HTTP(S)_PROXY: a printer URL is
// set by an HQ user, and its answer shows in the Requests view, so an
// unguarded call would let anyone with HQ access read internal services.
type PrinterClient struct{ client *http.Client }

// NewPrinterClient builds a client whose every connection goes through g
// (nil: refuse all private destinations). Redirects are not followed.
func NewPrinterClient(g *Guard) *PrinterClient {
	if g == nil {
		g = &Guard{}
	}
	return &PrinterClient{client: &http.Client{
		Transport:     guardedTransport(g, 30*time.Second),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// ErrBadPrinterURL is returned (wrapped) for a URL that cannot be called.
var ErrBadPrinterURL = errors.New("printer URL is invalid")

// Send POSTs the request. A transport failure is returned as an error (a
// refused destination as one wrapping *BlockedError); any HTTP answer,
// whatever its status, is a response.
func (c *PrinterClient) Send(ctx context.Context, r PrinterRequest) (*PrinterResponse, error) {
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: want an absolute http(s) URL", ErrBadPrinterURL)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultPrinterTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadPrinterURL, shortErr(err))
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		var be *BlockedError
		if errors.As(err, &be) {
			return nil, fmt.Errorf("printer destination refused: %w (a printer on a private network must be listed in ORDERINTAKE_ALLOWED_DESTINATIONS)", be)
		}
		return nil, errors.New(shortErr(err)) // without the URL, which may carry credentials
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	return &PrinterResponse{Status: resp.StatusCode, Headers: resp.Header, Body: body, Latency: time.Since(start)}, nil
}

// IsBlocked reports whether err is a refused destination.
func IsBlocked(err error) bool {
	var be *BlockedError
	return errors.As(err, &be)
}
