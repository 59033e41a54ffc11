// Package apiclient is the one HTTP client of orderintake's API that the
// tests (api, e2e, faults) and the benchmark share: it sets the credentials
// each route expects and decodes answers into typed values. It imports no
// testing package; internal/testenv wraps it for tests (failing the test on
// transport errors).
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client calls one API base URL.
type Client struct {
	BaseURL    string
	HTTP       *http.Client // nil: http.DefaultClient
	AdminToken string
	// Observe, when set, sees every exchange (the api tests check each
	// against the OpenAPI document).
	Observe func(req *http.Request, reqBody []byte, resp *Response)
}

// Response is one answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object (nil when it is not one).
func (r *Response) JSON() map[string]any {
	var out map[string]any
	_ = json.Unmarshal(r.Body, &out)
	return out
}

// Decode decodes the body into v.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d answer %.200q: %w", r.Status, r.Body, err)
	}
	return nil
}

// Problem is an application/problem+json answer.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Code   string         `json:"code"`
	Detail string         `json:"detail"`
	Field  string         `json:"field,omitempty"`
	Extra  map[string]any `json:"-"`
}

// Problem decodes a problem answer (nil for a 2xx).
func (r *Response) Problem() *Problem {
	if r.Status < 400 {
		return nil
	}
	var p Problem
	_ = json.Unmarshal(r.Body, &p)
	p.Extra = r.JSON()
	return &p
}

// Do sends one request. A JSON body gets Content-Type application/json
// unless hdr names another.
func (c *Client) Do(ctx context.Context, method, path string, hdr map[string]string, body []byte) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if c.Observe != nil {
		c.Observe(req, body, out)
	}
	return out, nil
}

// Admin sends an admin call with the admin token; body (nil: none) is
// marshalled to JSON.
func (c *Client) Admin(ctx context.Context, method, path string, body any) (*Response, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	return c.Do(ctx, method, path, map[string]string{"Authorization": "Bearer " + c.AdminToken}, b)
}

// OrderAccepted is the answer to an accepted order (202, or 200 for a repeat).
type OrderAccepted struct {
	ID               string            `json:"id"`
	OrderReferenceID string            `json:"orderReferenceId"`
	Status           string            `json:"status"`
	Links            map[string]string `json:"links"`
}

// SubmitOrder posts an order with a customer key; hdr adds headers
// (Idempotency-Key, …). contentType is sent as given ("" is an empty
// header: the API then sniffs the body).
func (c *Client) SubmitOrder(ctx context.Context, customerKey, contentType string, body []byte, hdr map[string]string) (*Response, error) {
	h := map[string]string{"X-API-KEY": customerKey, "Content-Type": contentType}
	for k, v := range hdr {
		h[k] = v
	}
	return c.Do(ctx, http.MethodPost, "/v1/orders", h, body)
}

// PrinterEvent is the events route body.
type PrinterEvent struct {
	EventID      string `json:"eventId"`
	Status       string `json:"status"`
	Timestamp    string `json:"timestamp,omitempty"`
	Message      string `json:"message,omitempty"`
	TrackingCode string `json:"trackingCode,omitempty"`
	TrackingURL  string `json:"trackingUrl,omitempty"`
	CarrierName  string `json:"carrierName,omitempty"`
}

// Now is a timestamp for an event that happens now.
func Now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// SendEvent reports an event as the printer whose key is printerKey. ev is
// a PrinterEvent, or any value (a map, to send a malformed body on purpose).
func (c *Client) SendEvent(ctx context.Context, printerKey, orderID string, ev any) (*Response, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, http.MethodPost, "/v1/printer/orders/"+orderID+"/events", map[string]string{"X-API-KEY": printerKey}, b)
}
