//go:build !nodev

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/api"
	"orderintake/internal/testenv"
)

// desk is the printer's cancel endpoint on loopback. It records each cancel
// (path, body, Idempotency-Key), answers the statuses of script in turn
// (then 200), and can hold answers to make a slow printer.
type desk struct {
	*httptest.Server
	mu     sync.Mutex
	paths  []string
	bodies []string
	keys   []string
	script []int
	hold   time.Duration
}

func newDesk(t *testing.T, script ...int) *desk {
	d := &desk{script: script}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.paths = append(d.paths, r.URL.Path)
		d.bodies = append(d.bodies, string(b))
		d.keys = append(d.keys, r.Header.Get("Idempotency-Key"))
		status := http.StatusOK
		if n := len(d.paths); n <= len(d.script) {
			status = d.script[n-1]
		}
		hold := d.hold
		d.mu.Unlock()
		if hold > 0 {
			select {
			case <-time.After(hold):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status >= 400 {
			io.WriteString(w, `{"error": "too late: the order is on the press"}`)
		} else {
			io.WriteString(w, `{"canceled": true}`)
		}
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *desk) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.paths)
}

func (d *desk) got() (paths, bodies, keys []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.paths...), append([]string(nil), d.bodies...), append([]string(nil), d.keys...)
}

// lifeShop is a customer whose printer gives its order id (printerOrderId
// in the loopback printer's answer) and takes cancels at d, with a cancel
// template.
func (p *product) lifeShop(printer *testenv.Server, d *desk, receiverURL string, events ...string) shop {
	s := p.configure(printer.URL, receiverURL, "json", testenv.IntakeJSON, events...)
	cust := p.adminCall("GET", "/v1/admin/customers/"+s.customerID, nil, 200)
	patch := map[string]any{"orderIdExpression": "printerOrderId"}
	if d != nil {
		patch["cancelUrl"] = d.URL + "/orders/{{ printerOrderId }}/cancel"
	}
	p.adminCall("PATCH", "/v1/admin/printers/"+cust["printerId"].(string), patch, 200)
	tpl := p.adminCall("POST", "/v1/admin/templates", map[string]any{"name": "cancel", "kind": "cancel", "format": "json",
		"body": `{"order": "{{ printerOrderId }}", "reason": "{{ reason }}"}`}, 201)
	p.adminCall("PATCH", "/v1/admin/customers/"+s.customerID, map[string]any{"cancelTemplateId": tpl["id"]}, 200)
	return s
}

func (p *product) orderOf(key, id string) map[string]any {
	p.t.Helper()
	st, o, _ := p.call("GET", "/v1/orders/"+id, map[string]string{"X-API-KEY": key}, "")
	if st != 200 {
		p.t.Fatalf("GET order %s = %d %v", id, st, o)
	}
	return o
}

func (p *product) waitStatus(key, id, status string) map[string]any {
	p.t.Helper()
	var o map[string]any
	eventually(p.t, 30*time.Second, "order "+id+" to be "+status, func() bool {
		var st int
		st, o, _ = p.call("GET", "/v1/orders/"+id, map[string]string{"X-API-KEY": key}, "")
		return st == 200 && o["status"] == status // 404 until the workflow recorded the order
	})
	return o
}

func (p *product) place(s shop, ref string) string {
	p.t.Helper()
	st, out := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "`+ref+`", "items": [{"sku": "A", "quantity": 1}]}`, nil)
	if st != 202 {
		p.t.Fatalf("submit %s = %d %v", ref, st, out)
	}
	return out["id"].(string)
}

func (p *product) cancel(key, id, body string) (int, map[string]any) {
	p.t.Helper()
	st, out, _ := p.call("POST", "/v1/orders/"+id+"/cancel", map[string]string{"X-API-KEY": key}, body)
	return st, out
}

// Cancel over HTTP: after the printer took the order (200, the cancel
// template at the printer's cancel URL with its order id, canceled fired);
// again (409, already canceled); after shipped (409, the status named); a
// printer's 4xx (409 with the printer's answer, status unchanged).
func TestCancelOverHTTP(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	d := newDesk(t)
	s := p.lifeShop(printer, d, receiver.URL, oi.EventCanceled)

	id := p.place(s, "LIFE-CANCEL-1")
	o := p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	pid := "P-" + id // the loopback printer's id of the order
	if o["printerOrderId"] != pid {
		t.Fatalf("printerOrderId = %v, want %s from the printer's answer", o["printerOrderId"], pid)
	}
	st, out := p.cancel(s.customerKey, id, `{"reason": "wrong size"}`)
	if st != 200 || out["status"] != "canceled" || out["printerCalled"] != true {
		t.Fatalf("cancel = %d %v, want 200 canceled after a printer call", st, out)
	}
	paths, bodies, _ := d.got()
	if len(paths) != 1 || paths[0] != "/orders/"+pid+"/cancel" || !strings.Contains(bodies[0], `"reason": "wrong size"`) {
		t.Fatalf("printer's cancel desk got %v %v", paths, bodies)
	}
	o = p.orderOf(s.customerKey, id)
	cancels, _ := o["cancels"].([]any)
	if o["status"] != "canceled" || len(cancels) != 1 || cancels[0].(map[string]any)["outcome"] != "canceled" {
		t.Fatalf("order after cancel = %v", o)
	}
	eventually(t, 20*time.Second, "the canceled postback", func() bool { return len(receiver.Requests()) == 1 })
	if ev := receiver.Events(); ev[0] != "canceled" {
		t.Fatalf("postbacks %v", ev)
	}
	st, out = p.cancel(s.customerKey, id, "")
	if st != 409 || out["orderStatus"] != "canceled" {
		t.Fatalf("second cancel = %d %v, want 409 naming canceled", st, out)
	}
	req := p.adminCall("GET", "/v1/admin/requests/"+id, nil, 200)
	crs, _ := req["cancelRequests"].([]any)
	if len(crs) != 1 {
		t.Fatalf("Requests view cancelRequests = %v", req["cancelRequests"])
	}
	cr := crs[0].(map[string]any)
	for _, stage := range []string{"originalRequest", "templateProcessing", "finalRequest", "systemResponse"} {
		if cr[stage] == nil {
			t.Fatalf("cancel request without its %s stage: %v", stage, cr)
		}
	}

	// Shipped: too late.
	id2 := p.place(s, "LIFE-CANCEL-2")
	p.waitStatus(s.customerKey, id2, oi.StatusSubmitted)
	if st, out := p.event(s.printerKey, id2, map[string]any{"eventId": "s1", "status": "shipped"}); st != 202 {
		t.Fatalf("event = %d %v", st, out)
	}
	p.waitStatus(s.customerKey, id2, oi.EventShipped)
	st, out = p.cancel(s.customerKey, id2, "")
	if st != 409 || out["orderStatus"] != "shipped" {
		t.Fatalf("cancel after shipped = %d %v, want 409 with orderStatus shipped", st, out)
	}
	if d.count() != 1 {
		t.Fatalf("a refused cancel reached the printer (%d cancels)", d.count())
	}

	// The printer refuses.
	d.mu.Lock()
	d.script = []int{200, 409}
	d.mu.Unlock()
	id3 := p.place(s, "LIFE-CANCEL-3")
	p.waitStatus(s.customerKey, id3, oi.StatusSubmitted)
	st, out = p.cancel(s.customerKey, id3, "")
	if st != 409 || out["printerStatus"] != float64(409) || !strings.Contains(fmt.Sprint(out["printerAnswer"]), "on the press") {
		t.Fatalf("cancel refused by the printer = %d %v, want 409 with the printer's answer", st, out)
	}
	if o := p.orderOf(s.customerKey, id3); o["status"] != oi.StatusSubmitted {
		t.Fatalf("status after the printer's refusal = %v, want submitted", o["status"])
	}

	// Another customer cannot cancel this one's order.
	other := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON)
	if st, out := p.cancel(other.customerKey, id3, ""); st != 404 {
		t.Fatalf("another customer's cancel = %d %v, want 404", st, out)
	}

	// The canceled order's workflow ended, and its history (the cancel
	// Update, the cancel at the printer) replays on today's code.
	wfID := oi.WorkflowID(s.customerID, "LIFE-CANCEL-1")
	ctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if err := p.tc.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("canceled order's workflow: %v", err)
	}
	replayHistory(t, p, wfID, "order_history_order_life_cancel.json")
}

// A cancel that comes before the printer took the order (the printer is
// down: 503 and retried) stops the submission: the admin route answers 200
// without a printer cancel, and no printer call follows the cancel.
// (workflows' testsuite covers a cancel before any printer call at all.)
func TestCancelBeforeSubmitOverHTTP(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusServiceUnavailable
	receiver := testenv.NewServer(t)
	d := newDesk(t)
	s := p.lifeShop(printer, d, receiver.URL, oi.EventCanceled)
	id := p.place(s, "LIFE-EARLY")
	eventually(t, 20*time.Second, "the printer to answer 503", func() bool { return len(printer.Requests()) >= 1 })
	out := p.adminCall("POST", "/v1/admin/requests/"+id+"/cancel", nil, 200)
	if out["status"] != "canceled" || out["printerCalled"] != false {
		t.Fatalf("cancel before the printer took the order = %v, want canceled without a printer cancel", out)
	}
	calls := len(printer.Requests())
	time.Sleep(3 * time.Second) // past the next retry the printer call would have had
	if n := len(printer.Requests()); n != calls || d.count() != 0 {
		t.Fatalf("printer got %d orders after the cancel and %d cancels, want none", n-calls, d.count())
	}
	if o := p.orderOf(s.customerKey, id); o["status"] != "canceled" {
		t.Fatalf("status = %v", o["status"])
	}
	eventually(t, 20*time.Second, "the canceled postback", func() bool { return len(receiver.Requests()) == 1 })
}

// The worker is stopped while the printer holds a cancel: the update
// completes once when a worker is back, and every call the printer got is
// the same cancel (one Idempotency-Key), answered 200 once to the client.
func TestWorkerKilledDuringCancel(t *testing.T) {
	p := startProduct(t)
	p.wcfg.StopTimeout = 100 * time.Millisecond // a kill, not a drain
	p.stopWorker()
	p.startWorker()
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	d := newDesk(t)
	s := p.lifeShop(printer, d, receiver.URL, oi.EventCanceled)
	id := p.place(s, "LIFE-KILL")
	p.waitStatus(s.customerKey, id, oi.StatusSubmitted)

	d.mu.Lock()
	d.hold = 3 * time.Second
	d.mu.Unlock()
	done := make(chan struct{})
	var st int
	var out map[string]any
	go func() {
		defer close(done)
		st, out = p.cancel(s.customerKey, id, "")
	}()
	eventually(t, 10*time.Second, "the cancel to reach the printer", func() bool { return d.count() == 1 })
	p.stopWorker()
	d.mu.Lock()
	d.hold = 0
	d.mu.Unlock()
	p.startWorker()
	<-done
	if st != 200 || out["status"] != "canceled" {
		t.Fatalf("cancel across a worker kill = %d %v, want 200 canceled", st, out)
	}
	_, _, keys := d.got()
	distinct := map[string]bool{}
	for _, k := range keys {
		distinct[k] = true
	}
	if len(distinct) != 1 || !distinct[out["cancelId"].(string)] {
		t.Fatalf("printer got cancels with keys %v, want one cancel (its id %v)", keys, out["cancelId"])
	}
	eventually(t, 20*time.Second, "the canceled postback", func() bool { return len(receiver.Requests()) >= 1 })
	time.Sleep(500 * time.Millisecond)
	if n := len(receiver.Requests()); n != 1 {
		t.Fatalf("receiver got %d canceled postbacks, want 1", n)
	}
	req := p.adminCall("GET", "/v1/admin/requests/"+id, nil, 200)
	if crs, _ := req["cancelRequests"].([]any); len(crs) != 1 {
		t.Fatalf("cancel requests = %v, want 1", req["cancelRequests"])
	}
	t.Logf("WORKER KILL: printer got %d call(s) of the one cancel %v", len(keys), out["cancelId"])
}

// Resubmit over HTTP: one order after its template was fixed (both tries'
// stages kept), then every failed order of a customer in a window.
func TestResubmitOverHTTP(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	s := p.lifeShop(printer, nil, receiver.URL, oi.EventFailed)
	cust := p.adminCall("GET", "/v1/admin/customers/"+s.customerID, nil, 200)
	tplID := cust["intakeTemplateId"].(string)
	broken := "{\n  \"externalId\": \"{{ orderReferenceId }}\",\n  \"n\": {{ nosuchfunction(1) }}\n}"
	p.adminCall("PUT", "/v1/admin/templates/"+tplID, map[string]any{"name": "intake", "format": "json", "body": broken}, 200)

	id := p.place(s, "LIFE-RESUB-1")
	p.waitStatus(s.customerKey, id, oi.EventFailed)
	p.adminCall("PUT", "/v1/admin/templates/"+tplID, map[string]any{"name": "intake", "format": "json", "body": testenv.IntakeJSON}, 200)
	out := p.adminCall("POST", "/v1/admin/requests/"+id+"/resubmit", nil, 202)
	if out["try"] != float64(2) {
		t.Fatalf("resubmit = %v, want try 2", out)
	}
	o := p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	if o["try"] != float64(2) || o["id"] != id {
		t.Fatalf("order after resubmit = %v", o)
	}
	req := p.adminCall("GET", "/v1/admin/requests/"+id, nil, 200)
	tries, _ := req["tries"].([]any)
	if len(tries) != 1 {
		t.Fatalf("earlier tries = %v", req["tries"])
	}
	t1 := tries[0].(map[string]any)
	terr, _ := t1["templateProcessing"].(map[string]any)["error"].(map[string]any)
	if t1["try"] != float64(1) || terr == nil || terr["line"] != float64(3) {
		t.Fatalf("try 1 = %v, want its template error at line 3", t1)
	}
	if r, _ := req["systemResponse"].(map[string]any); r == nil || r["status"] != float64(201) {
		t.Fatalf("try 2 system response = %v, want the printer's 201", req["systemResponse"])
	}
	if tv := req["templateProcessing"].(map[string]any)["templateVersion"]; tv != float64(3) {
		t.Fatalf("try 2 rendered with version %v, want the current 3", tv)
	}
	st, again, _ := p.call("POST", "/v1/admin/requests/"+id+"/resubmit", map[string]string{"Authorization": "Bearer " + p.admin}, "")
	if st != 409 || again["orderStatus"] != oi.StatusSubmitted {
		t.Fatalf("resubmit of a submitted order = %d %v, want 409", st, again)
	}
	if st, out := p.event(s.printerKey, id, map[string]any{"eventId": "d1", "status": "delivered"}); st != 202 {
		t.Fatalf("event = %d %v", st, out)
	}
	wfID := oi.WorkflowID(s.customerID, "LIFE-RESUB-1")
	ctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if err := p.tc.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("resubmitted order's workflow: %v", err)
	}
	replayHistory(t, p, wfID, "order_history_order_life_resubmit.json")

	// Bulk: the printer refuses two orders, then takes them again.
	from := time.Now().UTC().Add(-time.Second)
	refusing := testenv.NewServer(t, 422, 422)
	refusing.Default = http.StatusCreated
	bulk := p.configure(refusing.URL, receiver.URL, "json", testenv.IntakeJSON)
	a := p.place(bulk, "LIFE-BULK-A")
	b := p.place(bulk, "LIFE-BULK-B")
	p.waitStatus(bulk.customerKey, a, oi.EventFailed)
	p.waitStatus(bulk.customerKey, b, oi.EventFailed)
	res := p.adminCall("POST", "/v1/admin/requests/resubmit", map[string]any{"customerId": bulk.customerID,
		"from": from.Format(time.RFC3339Nano), "to": time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano)}, 202)
	got, _ := res["resubmitted"].([]any)
	ids := []string{}
	for _, g := range got {
		ids = append(ids, g.(string))
	}
	sort.Strings(ids)
	want := []string{a, b}
	sort.Strings(want)
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("bulk resubmit = %v, want both failed orders", res)
	}
	p.waitStatus(bulk.customerKey, a, oi.StatusSubmitted)
	p.waitStatus(bulk.customerKey, b, oi.StatusSubmitted)
}

// A submit response template answers in the merchant's XML, for an order
// taken and for one refused; a cancel response template likewise.
func TestResponseTemplatesAnswerXML(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	d := newDesk(t)
	s := p.lifeShop(printer, d, printer.URL)
	sub := p.adminCall("POST", "/v1/admin/templates", map[string]any{"name": "answer", "kind": "submit_response", "format": "xml",
		"body": `<result code="{{ status }}">{% if error %}<error>{{ error.detail }}</error>{% else %}<order id="{{ order.id }}" ref="{{ order.orderReferenceId }}">{{ order.status }}</order>{% endif %}</result>`}, 201)
	can := p.adminCall("POST", "/v1/admin/templates", map[string]any{"name": "cancel answer", "kind": "cancel_response", "format": "xml",
		"body": `<cancelResult code="{{ status }}">{{ order.status if order else error.detail }}</cancelResult>`}, 201)
	p.adminCall("PATCH", "/v1/admin/customers/"+s.customerID, map[string]any{"submitResponseTemplateId": sub["id"],
		"cancelResponseTemplateId": can["id"]}, 200)

	raw := func(method, path, ct, body string) (int, string, string) {
		req, _ := http.NewRequest(method, p.api.URL+path, strings.NewReader(body))
		req.Header.Set("X-API-KEY", s.customerKey)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	st, ct, body := raw("POST", "/v1/orders", "application/json", `{"orderReferenceId": "LIFE-XML-1", "items": [{"sku": "A", "quantity": 1}]}`)
	id := oi.OrderID(s.customerID, "LIFE-XML-1")
	if st != 202 || !strings.HasPrefix(ct, "application/xml") ||
		body != `<result code="202"><order id="`+id+`" ref="LIFE-XML-1">accepted</order></result>` {
		t.Fatalf("submit with an XML response template = %d %s %s", st, ct, body)
	}
	st, ct, body = raw("POST", "/v1/orders", "application/json", `{"orderReferenceId": `)
	if st != 400 || !strings.HasPrefix(ct, "application/xml") || !strings.HasPrefix(body, `<result code="400"><error>`) {
		t.Fatalf("malformed order with an XML response template = %d %s %s", st, ct, body)
	}
	p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	st, ct, body = raw("POST", "/v1/orders/"+id+"/cancel", "", "")
	if st != 200 || !strings.HasPrefix(ct, "application/xml") || body != `<cancelResult code="200">canceled</cancelResult>` {
		t.Fatalf("cancel with an XML response template = %d %s %s", st, ct, body)
	}
	st, _, body = raw("POST", "/v1/orders/"+id+"/cancel", "", "")
	if st != 409 || !strings.Contains(body, "can no longer be canceled") {
		t.Fatalf("second cancel with an XML response template = %d %s", st, body)
	}
}

// The customer's search lists its own orders in keyset pages.
func TestCustomerSearch(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	s := p.lifeShop(printer, nil, printer.URL)
	other := p.configure(printer.URL, printer.URL, "json", testenv.IntakeJSON)
	p.place(other, "SEARCH-OTHER")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, p.place(s, fmt.Sprintf("SEARCH-%d", i)))
	}
	for _, id := range ids {
		p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	}
	key := map[string]string{"X-API-KEY": s.customerKey}
	var seen []string
	cursor := ""
	for {
		st, page, _ := p.call("GET", "/v1/orders?limit=2&status=submitted&cursor="+cursor, key, "")
		if st != 200 {
			t.Fatalf("search = %d %v", st, page)
		}
		for _, it := range page["items"].([]any) {
			m := it.(map[string]any)
			seen = append(seen, m["id"].(string))
			if m["printerOrderId"] != "P-"+m["id"].(string) {
				t.Fatalf("search item %v without printerOrderId", m)
			}
		}
		next, _ := page["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("search listed %v, want the customer's 5 orders", seen)
	}
	st, page, _ := p.call("GET", "/v1/orders?reference=SEARCH-3", key, "")
	if items, _ := page["items"].([]any); st != 200 || len(items) != 1 {
		t.Fatalf("reference search = %d %v", st, page)
	}
	st, page, _ = p.call("GET", "/v1/orders?from=yesterday", key, "")
	if st != 422 || page["field"] != "from" {
		t.Fatalf("bad from = %d %v, want 422 naming from", st, page)
	}
}

// delayed over HTTP: a customer's delayedAfter of 2s fires the delayed
// postback once for an order the printer sits on.
func TestDelayedOverHTTP(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	s := p.lifeShop(printer, nil, receiver.URL, oi.EventDelayed)
	p.adminCall("PATCH", "/v1/admin/customers/"+s.customerID, map[string]any{"delayedAfter": "2s"}, 200)
	id := p.place(s, "LIFE-DELAYED")
	p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	eventually(t, 20*time.Second, "the delayed postback", func() bool { return len(receiver.Requests()) == 1 })
	if ev := receiver.Events(); ev[0] != "delayed" {
		t.Fatalf("postbacks %v", ev)
	}
	time.Sleep(2 * time.Second)
	if n := len(receiver.Requests()); n != 1 {
		t.Fatalf("%d delayed postbacks, want 1", n)
	}
	st, out, _ := p.call("PATCH", "/v1/admin/customers/"+s.customerID, map[string]string{"Authorization": "Bearer " + p.admin}, `{"delayedAfter": "soon"}`)
	if st != 422 || out["field"] != "delayedAfter" {
		t.Fatalf("bad delayedAfter = %d %v", st, out)
	}
}

// TestCancelLatency measures 100 cancels over HTTP (order taken by a
// loopback printer, cancel answered 200 at once): the time the customer
// waits for the verdict. A measurement, not an assertion.
func TestCancelLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	d := newDesk(t)
	s := p.lifeShop(printer, d, printer.URL)
	const n = 100
	ids := make([]string, n)
	for i := range ids {
		ids[i] = p.place(s, fmt.Sprintf("LAT-%03d", i))
	}
	for _, id := range ids {
		p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	}
	took := make([]time.Duration, 0, n)
	for _, id := range ids {
		start := time.Now()
		st, out := p.cancel(s.customerKey, id, "")
		took = append(took, time.Since(start))
		if st != 200 {
			t.Fatalf("cancel %s = %d %v", id, st, out)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("CANCEL LATENCY over %d cancels: p50=%v p99=%v max=%v", n, took[n/2], took[n*99/100-1], took[n-1])
}

// hqPost submits an HQ form with the page's CSRF token (as the browser
// does) and answers the status and Location.
func hqPost(t *testing.T, base string, jar http.CookieJar, page, action string) (int, string, string) {
	t.Helper()
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(base + page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on %s", page)
	}
	if !strings.Contains(string(body), `action="`+action+`"`) {
		t.Fatalf("%s has no form for %s", page, action)
	}
	req, _ := http.NewRequest("POST", base+action, strings.NewReader(url.Values{"csrf": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), string(out)
}

// The HQ buttons: Cancel order (behind its confirmation) and Resubmit go
// through the same service as the JSON routes.
func TestHQCancelAndResubmitButtons(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t, 422)
	printer.Default = http.StatusCreated
	d := newDesk(t)
	s := p.lifeShop(printer, d, printer.URL)
	jar := hqSession(t, p.api.URL, p.admin)

	failed := p.place(s, "LIFE-HQ-FAILED")
	p.waitStatus(s.customerKey, failed, oi.EventFailed)
	st, loc, body := hqPost(t, p.api.URL, jar, "/hq/requests/"+failed, "/hq/requests/"+failed+"/resubmit")
	if st != http.StatusSeeOther || !strings.Contains(loc, "notice=resubmitted") {
		t.Fatalf("HQ resubmit = %d %s %.300s", st, loc, body)
	}
	p.waitStatus(s.customerKey, failed, oi.StatusSubmitted)

	page := "/hq/requests/" + failed
	cl := &http.Client{Jar: jar}
	resp, err := cl.Get(p.api.URL + page)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Cancel order…", "Yes, cancel this order", "P-" + failed, "Earlier tries", "HTTP <strong>422</strong>"} {
		if !strings.Contains(string(raw), want) {
			t.Fatalf("order page lacks %q", want)
		}
	}
	st, loc, body = hqPost(t, p.api.URL, jar, page, "/hq/requests/"+failed+"/cancel")
	if st != http.StatusSeeOther || !strings.Contains(loc, "notice=canceled") {
		t.Fatalf("HQ cancel = %d %s %.300s", st, loc, body)
	}
	if o := p.orderOf(s.customerKey, failed); o["status"] != "canceled" || d.count() != 1 {
		t.Fatalf("after the HQ cancel: status %v, %d cancels at the printer", o["status"], d.count())
	}
	resp, err = cl.Get(p.api.URL + page)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "Yes, cancel this order") || !strings.Contains(string(raw), "Cancel requests") {
		t.Fatalf("a canceled order's page still offers the cancel, or lacks its cancel request")
	}
}

// A printer that holds its verdict past the caller's wait: 202
// cancel_pending, and the outcome shows on the order once it is in. (The
// wait is 30 s in production; 1 s here.)
func TestCancelPendingThenCanceled(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	d := newDesk(t)
	s := p.lifeShop(printer, d, printer.URL)
	short := httptest.NewServer(api.New(api.Config{Store: p.st, Temporal: p.tc, Mapper: p.wcfg.Mapper, Sealer: p.wcfg.Sealer,
		AdminToken: p.admin, Logger: quietLogger, CancelWait: time.Second}).Handler())
	t.Cleanup(short.Close)
	id := p.place(s, "LIFE-PENDING")
	p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	d.mu.Lock()
	d.hold = 3 * time.Second
	d.mu.Unlock()
	req, _ := http.NewRequest("POST", short.URL+"/v1/orders/"+id+"/cancel", nil)
	req.Header.Set("X-API-KEY", s.customerKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 202 || out["status"] != "cancel_pending" || out["cancelId"] == "" {
		t.Fatalf("cancel past the wait = %d %v, want 202 cancel_pending", resp.StatusCode, out)
	}
	o := p.orderOf(s.customerKey, id)
	if cs, _ := o["cancels"].([]any); o["status"] != oi.StatusSubmitted || len(cs) != 1 || cs[0].(map[string]any)["outcome"] != "pending" {
		t.Fatalf("order while the printer holds the cancel = %v", o)
	}
	o = p.waitStatus(s.customerKey, id, oi.EventCanceled)
	if cs, _ := o["cancels"].([]any); cs[0].(map[string]any)["outcome"] != "canceled" || cs[0].(map[string]any)["id"] != out["cancelId"] {
		t.Fatalf("order after the printer's verdict = %v", o)
	}
}
