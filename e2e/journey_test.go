//go:build !nodev

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	oi "orderintake"
	"orderintake/api"
	"orderintake/delivery"
	"orderintake/internal/app"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/store"
	"orderintake/worker"
	"orderintake/worker/devstack"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// product is the whole gateway on the embedded Temporal server and a real
// Postgres, served over loopback HTTP.
type product struct {
	t       *testing.T
	st      *store.Store
	tc      client.Client
	api     *httptest.Server
	admin   string
	wcfg    worker.Config
	mu      sync.Mutex
	running sdkworker.Worker
}

var (
	stackOnce sync.Once
	stackAddr string
)

// sharedStack starts one embedded server for the journey tests; each test
// uses its own task-queue-independent workflow ids and its own database.
func sharedStack(t *testing.T) string {
	stackOnce.Do(func() {
		st, err := devstack.Start(context.Background(), devstack.Options{FrontendAddr: "127.0.0.1:0", SearchAttributes: allSearchAttributes, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		stackAddr = st.FrontendAddress()
	})
	if stackAddr == "" {
		t.Fatal("embedded temporal did not start")
	}
	return stackAddr
}

func startProduct(t *testing.T) *product {
	addr := sharedStack(t)
	st := testenv.Store(t)
	sealer := testenv.Sealer(t)
	tc, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(quietLogger)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	eng := mapper.NewEngine(mapper.Options{})
	p := &product{t: t, st: st, tc: tc, admin: "adm_test_token",
		wcfg: worker.Config{Store: st, Mapper: eng, Sealer: sealer, Guard: &delivery.Guard{AllowPrivate: true}, Logger: quietLogger}}
	p.api = httptest.NewServer(app.Handler(api.Config{Store: st, Temporal: tc, Mapper: eng, Sealer: sealer, AdminToken: p.admin,
		Logger: quietLogger, TemporalUIURL: "http://127.0.0.1:8233"}))
	t.Cleanup(p.api.Close)
	p.startWorker()
	t.Cleanup(p.stopWorker)
	t.Cleanup(p.endOpenWorkflows) // before the worker stops (cleanups run last-in first-out)
	return p
}

// endOpenWorkflows terminates this test's order workflows that are still
// open. Every test's worker polls the one task queue of the shared stack
// with its own database: a workflow left open (an order whose first
// workflow task the stopping worker never finished, one waiting for events,
// a failed order on hold) would otherwise take its next workflow task on a
// later test's worker, whose database lacks the order, and retry its local
// activities there for hours (TMPRL1104, 8 s workflow tasks). Workflows are
// found by customer in visibility: the order's row may not exist yet.
func (p *product) endOpenWorkflows() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	customers, err := p.st.ListCustomers(ctx)
	if err != nil {
		p.t.Errorf("list customers to end their workflows: %v", err)
		return
	}
	for _, c := range customers {
		req := &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf(`CustomerId = %q AND ExecutionStatus = "Running"`, c.ID)}
		for {
			resp, err := p.tc.ListWorkflow(ctx, req)
			if err != nil {
				p.t.Errorf("list open workflows of %s: %v", c.ID, err)
				return
			}
			for _, e := range resp.GetExecutions() {
				// One that ended meanwhile answers NotFound: nothing to end.
				_ = p.tc.TerminateWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), "test finished")
			}
			if req.NextPageToken = resp.GetNextPageToken(); len(req.NextPageToken) == 0 {
				break
			}
		}
	}
}

func (p *product) startWorker() {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, err := worker.New(p.tc, p.wcfg)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.running = w
}

func (p *product) stopWorker() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running != nil {
		p.running.Stop()
		p.running = nil
	}
}

// client is the shared test client (internal/testenv) on this product's API.
func (p *product) client() *testenv.API { return testenv.NewAPI(p.t, p.api.URL, p.admin) }

// call makes one HTTP request and decodes a JSON answer.
func (p *product) call(method, path string, hdr map[string]string, body string) (int, map[string]any, http.Header) {
	p.t.Helper()
	return p.client().Call(method, path, hdr, body)
}

// adminCall is an admin request that must answer want.
func (p *product) adminCall(method, path string, body any, want int) map[string]any {
	p.t.Helper()
	return p.client().MustAdmin(method, path, body, want)
}

// shop is a customer configured over the admin API.
type shop struct {
	customerID, customerKey, printerKey string
	secrets                             map[string]string // event -> signing secret
}

func (p *product) configure(printerURL, receiverURL, intakeFormat, intakeBody string, events ...string) shop {
	prn := p.adminCall("POST", "/v1/admin/printers", map[string]any{"name": "Loopback printer", "url": printerURL, "format": "json"}, 201)
	pkey := p.adminCall("POST", "/v1/admin/printers/"+prn["id"].(string)+"/keys", nil, 201)
	intake := p.adminCall("POST", "/v1/admin/templates", map[string]any{"name": "intake", "kind": "intake", "format": intakeFormat, "body": intakeBody}, 201)
	hook := p.adminCall("POST", "/v1/admin/templates", map[string]any{"name": "hook", "kind": "webhook", "format": "json", "body": testenv.WebhookJSON}, 201)
	cust := p.adminCall("POST", "/v1/admin/customers", map[string]any{"name": "Shop", "referenceId": "shop-" + oi.NewID("r"),
		"printerId": prn["id"], "intakeTemplateId": intake["id"]}, 201)
	ckey := p.adminCall("POST", "/v1/admin/customers/"+cust["id"].(string)+"/keys", nil, 201)
	s := shop{customerID: cust["id"].(string), customerKey: ckey["key"].(string), printerKey: pkey["key"].(string), secrets: map[string]string{}}
	for _, ev := range events {
		tr := p.adminCall("POST", "/v1/admin/triggers", map[string]any{"customerId": s.customerID, "name": ev, "event": ev,
			"method": "url", "templateId": hook["id"], "format": "json", "url": receiverURL}, 201)
		s.secrets[ev] = tr["secret"].(string)
	}
	return s
}

func (p *product) submit(key, contentType, body string, extra map[string]string) (int, map[string]any) {
	p.t.Helper()
	return p.client().Submit(key, contentType, body, extra)
}

func (p *product) event(printerKey, orderID string, ev map[string]any) (int, map[string]any) {
	p.t.Helper()
	return p.client().Event(printerKey, orderID, ev)
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func verifySignature(t *testing.T, secret string, r testenv.Request) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Fatalf("signature of %s does not verify: %v", r.Body, err)
	}
}

const xmlIntake = `{"externalId": "{{ order.orderReferenceId }}", "lines": [{% for it in order.items.item %}{"sku": "{{ it["@sku"] }}", "copies": {{ it["@quantity"] | int }}}{% if not loop.last %}, {% endif %}{% endfor %}]}`

func TestOrderJourneyJSONAndXML(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	events := []string{oi.EventReceived, oi.EventInProduction, oi.EventShipped, oi.EventDelivered}
	jsonShop := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON, events...)
	xmlShop := p.configure(printer.URL, receiver.URL, "json", xmlIntake, events...)

	status, jsonOrder := p.submit(jsonShop.customerKey, "application/json",
		`{"orderReferenceId": "E2E-JSON-1", "items": [{"sku": "POSTER \"A3\"", "quantity": 2}, {"sku": "MUG", "quantity": 1}]}`, nil)
	if status != 202 || jsonOrder["id"] == nil || jsonOrder["orderReferenceId"] != "E2E-JSON-1" {
		t.Fatalf("submit JSON = %d %v", status, jsonOrder)
	}
	status, xmlOrder := p.submit(xmlShop.customerKey, "application/xml",
		`<?xml version="1.0"?><order><orderReferenceId>E2E-XML-1</orderReferenceId><items><item sku="A&amp;B" quantity="1"/><item sku="C" quantity="3"/></items></order>`, nil)
	if status != 202 || xmlOrder["id"] == nil {
		t.Fatalf("submit XML = %d %v", status, xmlOrder)
	}
	eventually(t, 20*time.Second, "the printer to get both orders", func() bool { return len(printer.Requests()) == 2 })
	sentBy := map[string]map[string]any{}
	for _, r := range printer.Requests() {
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("printer got invalid JSON %s", r.Body)
		}
		sentBy[r.Header.Get("X-Order-Id")] = body
	}
	if got := sentBy[jsonOrder["id"].(string)]; got["externalId"] != "E2E-JSON-1" || fmt.Sprint(got["lines"]) != `[map[copies:2 sku:POSTER "A3"] map[copies:1 sku:MUG]]` {
		t.Fatalf("printer got %v for the JSON order", got)
	}
	if got := sentBy[xmlOrder["id"].(string)]; got["externalId"] != "E2E-XML-1" || fmt.Sprint(got["lines"]) != `[map[copies:1 sku:A&B] map[copies:3 sku:C]]` {
		t.Fatalf("printer got %v for the XML order", got)
	}

	for i, ev := range events {
		body := map[string]any{"eventId": fmt.Sprintf("ev-%d", i), "status": ev, "timestamp": "2026-11-22T10:0" + fmt.Sprint(i) + ":00Z"}
		if ev == oi.EventShipped {
			body["trackingCode"], body["trackingUrl"], body["carrierName"] = "TRACK-1", "https://track.example/TRACK-1", "PostNord"
		}
		if st, out := p.event(jsonShop.printerKey, jsonOrder["id"].(string), body); st != 202 {
			t.Fatalf("event %s = %d %v", ev, st, out)
		}
		if ev == oi.EventReceived || ev == oi.EventDelivered {
			if st, out := p.event(xmlShop.printerKey, xmlOrder["id"].(string), body); st != 202 {
				t.Fatalf("xml event %s = %d %v", ev, st, out)
			}
		}
	}
	eventually(t, 30*time.Second, "6 postbacks", func() bool { return len(receiver.Requests()) == 6 })

	// One postback per event, in event order per order, each signed.
	perOrder := map[string][]string{}
	for _, r := range receiver.Requests() {
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("postback body %s: %v", r.Body, err)
		}
		secret := jsonShop.secrets[body["event"]]
		if body["orderId"] == xmlOrder["id"] {
			secret = xmlShop.secrets[body["event"]]
		}
		verifySignature(t, secret, r)
		perOrder[body["orderReferenceId"]] = append(perOrder[body["orderReferenceId"]], body["event"])
		if body["event"] == "shipped" && body["trackingCode"] != "TRACK-1" {
			t.Fatalf("shipped postback = %v, want the tracking code", body)
		}
	}
	if got := strings.Join(perOrder["E2E-JSON-1"], ","); got != "received,in_production,shipped,delivered" {
		t.Fatalf("JSON order postbacks in order %s", got)
	}
	if got := strings.Join(perOrder["E2E-XML-1"], ","); got != "received,delivered" {
		t.Fatalf("XML order postbacks in order %s", got)
	}

	// The Requests view says the same.
	id := jsonOrder["id"].(string)
	eventually(t, 10*time.Second, "the JSON order's postbacks to be recorded delivered", func() bool {
		pbs, _ := p.st.ListOrderPostbacks(context.Background(), id)
		n := 0
		for _, pb := range pbs {
			if pb.Status == oi.PostbackDelivered && pb.Attempts == 1 {
				n++
			}
		}
		return n == 4
	})
	detail := p.adminCall("GET", "/v1/admin/requests/"+id, nil, 200)
	if detail["status"] != "delivered" || detail["orderReferenceId"] != "E2E-JSON-1" {
		t.Fatalf("request detail status=%v ref=%v", detail["status"], detail["orderReferenceId"])
	}
	orig := detail["originalRequest"].(map[string]any)
	proc := detail["templateProcessing"].(map[string]any)
	final := detail["finalRequest"].(map[string]any)
	resp := detail["systemResponse"].(map[string]any)
	if !strings.Contains(orig["body"].(string), `"E2E-JSON-1"`) || proc["templateVersion"] != float64(1) ||
		final["url"] != printer.URL || final["body"] != proc["output"] || resp["status"] != float64(201) {
		t.Fatalf("four stages wrong:\n%v\n%v\n%v\n%v", orig, proc, final, resp)
	}
	if evs := detail["events"].([]any); len(evs) != 4 {
		t.Fatalf("timeline has %d events", len(evs))
	}
	for _, pb := range detail["postbacks"].([]any) {
		pbID := pb.(map[string]any)["id"].(string)
		atts, err := p.st.ListAttempts(context.Background(), pbID)
		if err != nil || len(atts) != 1 || atts[0].ResponseStatus != 200 || atts[0].Outcome != "delivered" {
			t.Fatalf("attempts of %s = %+v %v", pbID, atts, err)
		}
	}

	// The customer sees its own order, not the other shop's.
	if st, out, _ := p.call("GET", "/v1/orders/"+id, map[string]string{"X-API-KEY": jsonShop.customerKey}, ""); st != 200 || out["status"] != "delivered" || len(out["events"].([]any)) != 4 {
		t.Fatalf("GET own order = %d %v", st, out)
	}
	if st, _, _ := p.call("GET", "/v1/orders/"+id, map[string]string{"X-API-KEY": xmlShop.customerKey}, ""); st != 404 {
		t.Fatalf("GET another shop's order = %d, want 404", st)
	}

	// Temporal: the workflow completed and is found by its reference.
	wfID := detail["workflowId"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.tc.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("order workflow: %v", err)
	}
	findByQuery(ctx, t, p.tc, `OrderReferenceId = "E2E-JSON-1" AND OrderStatus = "delivered"`, wfID)

	// A late event after delivered is recorded as rejected and answered 409.
	if st, out := p.event(jsonShop.printerKey, id, map[string]any{"eventId": "late-1", "status": "shipped"}); st != 409 {
		t.Fatalf("event after the workflow ended = %d %v, want 409", st, out)
	}
	if st, out := p.event(jsonShop.printerKey, id, map[string]any{"eventId": "ev-3", "status": "delivered"}); st != 200 || out["result"] != "duplicate" {
		t.Fatalf("repeat of a known event after the end = %d %v, want 200 duplicate", st, out)
	}

	// The history replays on today's workflow code (determinism).
	replayHistory(t, p, wfID, "order_history.json")
}
