// Package demo is the demo world of `orderintake dev` (and the benchmark):
// a printer that takes orders and later reports their progress, a webhook
// receiver, and a customer wired to both, so a newcomer sees an order travel
// the whole way.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/store"
)

// IDs of the demo records (stable, so `dev` can be run again on the same data).
const (
	CustomerID       = "cus_demo"
	PrinterID        = "prn_demo"
	IntakeTemplateID = "tpl_demo_intake"
	WebhookTemplate  = "tpl_demo_webhook"
)

// Keys are the demo customer's and printer's API keys.
type Keys struct {
	Customer string `json:"customer"`
	Printer  string `json:"printer"`
}

// NewKeys makes fresh demo keys.
func NewKeys() Keys {
	return Keys{Customer: "ck_demo_" + seal.NewKey()[:24], Printer: "pk_demo_" + seal.NewKey()[:24]}
}

// IntakeTemplateBody maps the sample order to the demo printer's format.
const IntakeTemplateBody = `{
  "externalId": "{{ orderReferenceId }}",
  "shop": "{{ customer.referenceId }}",
  "recipient": {"name": "{{ buyer.name }}", "email": "{{ buyer.email }}", "country": "{{ shippingAddress.country }}"},
  "lines": [{% for item in items %}
    {"sku": "{{ item.sku }}", "copies": {{ item.quantity }}}{% if not loop.last %},{% endif %}{% endfor %}
  ]
}`

// WebhookTemplateBody is the demo postback.
const WebhookTemplateBody = `{
  "event": "{{ event }}",
  "orderId": "{{ orderId }}",
  "orderReferenceId": "{{ orderReferenceId }}",
  "status": "{{ fulfillmentStatus }}",
  "timestamp": "{{ created }}",
  "message": "{{ message }}",
  "trackingCode": "{{ trackingCode }}",
  "trackingUrl": "{{ trackingUrl }}",
  "carrier": "{{ carrierName }}"
}`

// SampleOrder is the order the printed curl submits.
const SampleOrder = `{"orderReferenceId": "demo-1001", "buyer": {"name": "Ada Lovelace", "email": "ada@example.com"}, "shippingAddress": {"country": "DK"}, "items": [{"sku": "POSTER-A3", "quantity": 2}, {"sku": "MUG-WHITE", "quantity": 1}]}`

// WebhookEvents are the events the demo customer has triggers for.
var WebhookEvents = []string{oi.EventReceived, oi.EventInProduction, oi.EventShipped, oi.EventDelivered, oi.EventFailed}

// Seed creates (or refreshes) the demo printer, templates, customer, keys
// and webhook triggers. printerURL and receiverURL change at every start.
func Seed(ctx context.Context, st *store.Store, sealer *seal.Sealer, keys Keys, printerURL, receiverURL string) error {
	p := &oi.Printer{ID: PrinterID, Name: "Demo Printer", URL: printerURL, Format: oi.FormatJSON, Headers: map[string]string{}, TimeoutMs: 10000}
	if _, err := st.GetPrinter(ctx, PrinterID); oi.ErrorCode(err) == oi.ENOTFOUND {
		_, err = st.CreatePrinter(ctx, p)
		if err != nil {
			return fmt.Errorf("seed demo printer: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("seed demo printer: %w", err)
	} else if _, err := st.UpdatePrinter(ctx, p); err != nil {
		return fmt.Errorf("seed demo printer: %w", err)
	}
	for _, t := range []*oi.Template{
		{ID: IntakeTemplateID, Name: "Demo intake (JSON to printer JSON)", Kind: oi.KindIntake, Format: oi.FormatJSON, Body: IntakeTemplateBody},
		{ID: WebhookTemplate, Name: "Demo status webhook", Kind: oi.KindWebhook, Format: oi.FormatJSON, Body: WebhookTemplateBody},
	} {
		if _, err := st.GetTemplate(ctx, t.ID); oi.ErrorCode(err) == oi.ENOTFOUND {
			if _, err := st.CreateTemplate(ctx, t); err != nil {
				return fmt.Errorf("seed demo template: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("seed demo template: %w", err)
		}
	}
	if _, err := st.GetCustomer(ctx, CustomerID); oi.ErrorCode(err) == oi.ENOTFOUND {
		_, err = st.CreateCustomer(ctx, &oi.Customer{ID: CustomerID, Name: "Demo Shop", ReferenceID: "demo-shop",
			PrinterID: PrinterID, IntakeTemplateID: IntakeTemplateID})
		if err != nil {
			return fmt.Errorf("seed demo customer: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("seed demo customer: %w", err)
	}
	if err := st.InsertKey(ctx, oi.OwnerCustomer, CustomerID, keys.Customer); err != nil {
		return fmt.Errorf("seed demo keys: %w", err)
	}
	if err := st.InsertKey(ctx, oi.OwnerPrinter, PrinterID, keys.Printer); err != nil {
		return fmt.Errorf("seed demo keys: %w", err)
	}
	for _, ev := range WebhookEvents {
		id := "trg_demo_" + ev
		t := &oi.Trigger{ID: id, CustomerID: CustomerID, Name: "Demo " + strings.ReplaceAll(ev, "_", " ") + " webhook",
			Event: ev, Method: oi.MethodURL, TemplateID: WebhookTemplate, Format: oi.FormatJSON, URL: receiverURL,
			RetryOnFailure: true, Status: oi.TriggerActive}
		if _, err := st.GetTrigger(ctx, id); oi.ErrorCode(err) == oi.ENOTFOUND {
			secret, err := delivery.NewSecret()
			if err != nil {
				return err
			}
			if _, err := st.CreateTrigger(ctx, t, sealer.Seal(secret)); err != nil {
				return fmt.Errorf("seed demo trigger: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("seed demo trigger: %w", err)
		} else if _, err := st.UpdateTrigger(ctx, t); err != nil {
			return fmt.Errorf("seed demo trigger: %w", err)
		}
	}
	return nil
}

// Printer is the demo print service: it takes an order (201) and then
// reports received, in_production, shipped (with tracking) and delivered to
// the gateway's events route, Step apart.
type Printer struct {
	APIBaseURL string // where the gateway listens
	Key        string // the printer's API key
	Step       time.Duration
	Logger     *slog.Logger

	mu       sync.Mutex
	received map[string]int // order id -> requests received (to show retries and repeats)
	wg       sync.WaitGroup
}

// ServeHTTP takes one order.
func (p *Printer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	orderID := r.Header.Get("X-Order-Id")
	if r.Method != http.MethodPost || orderID == "" || !json.Valid(body) {
		http.Error(w, `{"error": "POST a JSON order with an X-Order-Id header"}`, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	if p.received == nil {
		p.received = map[string]int{}
	}
	p.received[orderID]++
	first := p.received[orderID] == 1
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"printerOrderId": "P-%s", "status": "accepted"}`, orderID[len(orderID)-8:])
	if first { // a repeat (Idempotency-Key) is acknowledged, not produced twice
		p.wg.Add(1)
		go p.report(orderID)
	}
}

// Received counts the requests the printer got per order.
func (p *Printer) Received() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.received))
	for k, v := range p.received {
		out[k] = v
	}
	return out
}

// Wait waits for the reports in flight.
func (p *Printer) Wait() { p.wg.Wait() }

func (p *Printer) report(orderID string) {
	defer p.wg.Done()
	step := p.Step
	if step == 0 {
		step = 2 * time.Second
	}
	tail := orderID[len(orderID)-8:]
	events := []map[string]string{
		{"status": oi.EventReceived, "message": "order received by the demo printer"},
		{"status": oi.EventInProduction, "message": "printing"},
		{"status": oi.EventShipped, "trackingCode": "DEMO" + strings.ToUpper(tail), "trackingUrl": "https://tracking.example/DEMO" + strings.ToUpper(tail), "carrierName": "Demo Post"},
		{"status": oi.EventDelivered, "message": "left with the recipient"},
	}
	for i, ev := range events {
		time.Sleep(step)
		ev["eventId"] = fmt.Sprintf("%s-%d-%s", tail, i+1, ev["status"])
		ev["timestamp"] = time.Now().UTC().Format(time.RFC3339Nano)
		body, _ := json.Marshal(ev)
		if err := p.post(orderID, body); err != nil && p.Logger != nil {
			p.Logger.Warn("demo printer could not report", "orderId", orderID, "status", ev["status"], "error", err)
		}
	}
}

// post sends one event, retrying a few times while the gateway is busy.
func (p *Printer) post(orderID string, body []byte) error {
	var last error
	for try := 0; try < 5; try++ {
		req, _ := http.NewRequest(http.MethodPost, p.APIBaseURL+"/v1/printer/orders/"+orderID+"/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", p.Key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 300 || (resp.StatusCode < 500 && resp.StatusCode != 404) {
				return nil
			}
			err = fmt.Errorf("gateway answered %d", resp.StatusCode)
		}
		last = err
		time.Sleep(time.Duration(try+1) * 500 * time.Millisecond)
	}
	return last
}

// Delivery is one webhook the demo receiver got.
type Delivery struct {
	ReceivedAt time.Time         `json:"receivedAt"`
	Headers    map[string]string `json:"headers"`
	Body       json.RawMessage   `json:"body"`
}

// Receiver is the demo customer's webhook endpoint: it keeps what it got
// and lists it at GET.
type Receiver struct {
	Logger *slog.Logger
	mu     sync.Mutex
	got    []Delivery
}

// ServeHTTP takes a webhook (POST) or lists the last ones (GET).
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"items": rc.got})
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	d := Delivery{ReceivedAt: time.Now().UTC(), Headers: map[string]string{}, Body: body}
	if !json.Valid(body) {
		d.Body, _ = json.Marshal(string(body))
	}
	for _, h := range []string{"Content-Type", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		d.Headers[strings.ToLower(h)] = r.Header.Get(h)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, d)
	if len(rc.got) > 500 {
		rc.got = rc.got[len(rc.got)-500:]
	}
	rc.mu.Unlock()
	if rc.Logger != nil {
		var ev struct{ Event, OrderReferenceID string }
		_ = json.Unmarshal(body, &ev)
		rc.Logger.Info("demo receiver got a webhook", "event", ev.Event, "orderReferenceId", ev.OrderReferenceID, "webhookId", d.Headers["webhook-id"])
	}
	w.WriteHeader(http.StatusNoContent)
}

// Deliveries returns what the receiver got so far.
func (rc *Receiver) Deliveries() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.got...)
}
