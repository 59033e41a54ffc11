//go:build !nodev

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
)

// Issue 10's end-to-end checks: templates a PSP can trust.

// sampleOrder reads one of the sample orders merchants really send.
func sampleOrder(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("/work/shared/samples/orders/" + name)
	if err != nil {
		t.Skipf("sample order %s not available: %v", name, err)
	}
	return string(b)
}

// requestDetail is the Requests view of one order (nil until the workflow
// has recorded it).
func (p *product) requestDetail(id string) map[string]any {
	p.t.Helper()
	status, out, _ := p.call("GET", "/v1/admin/requests/"+id, map[string]string{"Authorization": "Bearer " + p.admin}, "")
	switch status {
	case http.StatusOK:
		return out
	case http.StatusNotFound:
		return map[string]any{}
	}
	p.t.Fatalf("GET /v1/admin/requests/%s = %d %v", id, status, out)
	return nil
}

func hasEvent(d map[string]any, status string) bool {
	evs, _ := d["events"].([]any)
	for _, e := range evs {
		if m, _ := e.(map[string]any); m["status"] == status && m["accepted"] == true {
			return true
		}
	}
	return false
}

// A customer whose reference expression is written {{ order.ref }} (as the
// admin API and HQ accept it): the same order three times is 202, 200 and,
// with a changed body, 409; the printer gets it once. An order without the
// reference is refused with 422 naming the expression, and recorded.
func TestReferenceExpressionStopsDuplicates(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	s := p.configure(printer.URL, printer.URL, "json",
		`{"externalId": "{{ order.ref }}", "lines": [{% for i in order.items %}{"sku": "{{ i.sku }}", "copies": {{ i.qty }}}{% if not loop.last %}, {% endif %}{% endfor %}]}`)
	p.adminCall("PATCH", "/v1/admin/customers/"+s.customerID, map[string]any{"referenceExpression": "{{ order.ref }}"}, 200)

	body := `{"order": {"ref": "SHOP-4711", "items": [{"sku": "POSTER-A3", "qty": 2}]}}`
	st1, first := p.submit(s.customerKey, "application/json", body, nil)
	st2, again := p.submit(s.customerKey, "application/json", body, nil)
	st3, changed := p.submit(s.customerKey, "application/json", strings.Replace(body, `"qty": 2`, `"qty": 3`, 1), nil)
	if st1 != 202 || st2 != 200 || st3 != 409 {
		t.Fatalf("the same order 3 times = %d %v, %d %v, %d %v; want 202, 200, 409", st1, first, st2, again, st3, changed)
	}
	if first["id"] != again["id"] || first["orderReferenceId"] != "SHOP-4711" || changed["code"] != oi.ECONFLICT {
		t.Errorf("first %v, repeat %v, changed %v", first, again, changed)
	}
	id := first["id"].(string)
	eventually(t, 20*time.Second, "the order at the printer", func() bool { return len(printer.Requests()) >= 1 })
	eventually(t, 20*time.Second, "the order submitted", func() bool { return p.requestDetail(id)["status"] == oi.StatusSubmitted })
	time.Sleep(300 * time.Millisecond) // a second print would have come by now
	if reqs := printer.Requests(); len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"externalId": "SHOP-4711"`) {
		t.Fatalf("printer received %d requests, want exactly one for SHOP-4711", len(reqs))
	}

	// No reference under the expression: 422 naming it and why; no order, no print.
	st, out := p.submit(s.customerKey, "application/json", `{"order": {"items": [{"sku": "POSTER-A3", "qty": 1}]}}`, nil)
	detail, _ := out["detail"].(string)
	if st != 422 || out["referenceExpression"] != "{{ order.ref }}" || !strings.Contains(detail, `"{{ order.ref }}"`) ||
		!strings.Contains(detail, "order.ref is undefined") {
		t.Fatalf("order without its reference = %d %v, want 422 naming the expression and why", st, out)
	}
	eventually(t, 10*time.Second, "the refusal recorded", func() bool {
		items := p.adminCall("GET", "/v1/admin/requests?status=rejected&customerId="+s.customerID, nil, 200)["items"].([]any)
		for _, it := range items { // the 409 above is recorded too
			if reason, _ := it.(map[string]any)["statusReason"].(string); strings.Contains(reason, `"{{ order.ref }}"`) {
				return true
			}
		}
		return false
	})
	if n := len(printer.Requests()); n != 1 {
		t.Errorf("printer received %d requests after the refusal, want 1", n)
	}
}

// A body with its own top-level customer (storefront and shop shapes): the
// template reads the body's customer.firstName, ours stays under
// orderintake.customer, and the Requests view shows the shadowing warning.
func TestBodyCustomerReachesThePrinter(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	tpl := `{"externalId": "{{ orderReferenceId }}", "recipient": "{{ customer.firstName }} {{ customer.lastName }}", "shop": "{{ orderintake.customer.referenceId }}", "lines": [{% for i in items %}{"sku": "{{ i.productUid }}", "copies": {{ i.quantity }}}{% if not loop.last %}, {% endif %}{% endfor %}]}`
	s := p.configure(printer.URL, printer.URL, "json", tpl)
	cust := p.adminCall("GET", "/v1/admin/customers/"+s.customerID, nil, 200)

	st, out := p.submit(s.customerKey, "application/json", sampleOrder(t, "storefront-camel.json"), nil)
	if st != 202 {
		t.Fatalf("storefront order = %d %v", st, out)
	}
	eventually(t, 20*time.Second, "the order at the printer", func() bool { return len(printer.Requests()) == 1 })
	var sent map[string]any
	if err := json.Unmarshal(printer.Requests()[0].Body, &sent); err != nil {
		t.Fatalf("printer body %s: %v", printer.Requests()[0].Body, err)
	}
	if sent["recipient"] != "José Núñez" || sent["shop"] != cust["referenceId"] || sent["externalId"] != "WEB-2026-000318" {
		t.Errorf("printer got %v", sent)
	}
	d := p.requestDetail(out["id"].(string))
	proc := d["templateProcessing"].(map[string]any)
	ws, _ := json.Marshal(proc["warnings"])
	if string(ws) != `[{"column":59,"line":1,"message":"the body's \"customer\" hides orderintake.customer; use orderintake.customer to reach ours"}]` {
		t.Errorf("template stage warnings = %s, want the shadowing warning at 1:59", ws)
	}

	// The shop shape (snake_case customer, no reference field of ours).
	shopTpl := `{"externalId": "{{ name }}", "recipient": "{{ customer.first_name }} {{ customer.last_name }}", "email": "{{ customer.emial }}", "lines": []}`
	p.adminCall("PUT", "/v1/admin/templates/"+p.intakeTemplateOf(s), map[string]any{"name": "intake", "format": "json", "body": shopTpl}, 200)
	st, out = p.submit(s.customerKey, "application/json", sampleOrder(t, "shop-style.json"), map[string]string{"Idempotency-Key": "shop-1047"})
	if st != 202 {
		t.Fatalf("shop order = %d %v", st, out)
	}
	eventually(t, 20*time.Second, "the shop order at the printer", func() bool { return len(printer.Requests()) == 2 })
	if err := json.Unmarshal(printer.Requests()[1].Body, &sent); err != nil || sent["recipient"] != "Ann O'Neil" || sent["externalId"] != "#1047" {
		t.Errorf("printer got %s (%v)", printer.Requests()[1].Body, err)
	}
	proc = p.requestDetail(out["id"].(string))["templateProcessing"].(map[string]any)
	ws, _ = json.Marshal(proc["warnings"])
	if !strings.Contains(string(ws), "customer.emial is undefined") || !strings.Contains(string(ws), "hides orderintake.customer") {
		t.Errorf("shop order warnings = %s", ws)
	}

	// The ERP's XML purchase order: its own names, ours where it has none.
	xmlTpl := `{"externalId": "{{ PurchaseOrder.Header.OrderNumber }}", "shop": "{{ customer.referenceId }}", "lines": [{% for l in PurchaseOrder.Lines.Line %}{"sku": "{{ l.Sku }}", "copies": {{ l.Qty["#text"] | int }}}{% if not loop.last %}, {% endif %}{% endfor %}]}`
	p.adminCall("PUT", "/v1/admin/templates/"+p.intakeTemplateOf(s), map[string]any{"name": "intake", "format": "json", "body": xmlTpl}, 200)
	st, out = p.submit(s.customerKey, "application/xml", sampleOrder(t, "erp-order.xml"), map[string]string{"Idempotency-Key": "po-77310"})
	if st != 202 {
		t.Fatalf("ERP order = %d %v", st, out)
	}
	eventually(t, 20*time.Second, "the ERP order at the printer", func() bool { return len(printer.Requests()) == 3 })
	want := fmt.Sprintf(`{"externalId": "PO-77310", "shop": "%s", "lines": [{"sku": "FLYER-A5-135", "copies": 2500}, {"sku": "ROLLUP-85x200", "copies": 1}]}`, cust["referenceId"])
	if got := string(printer.Requests()[2].Body); got != want {
		t.Errorf("printer got\n%s\nwant\n%s", got, want)
	}
	if w := p.requestDetail(out["id"].(string))["templateProcessing"].(map[string]any)["warnings"].([]any); len(w) != 0 {
		t.Errorf("ERP order warnings = %v, want none", w)
	}
}

func (p *product) intakeTemplateOf(s shop) string {
	return p.adminCall("GET", "/v1/admin/customers/"+s.customerID, nil, 200)["intakeTemplateId"].(string)
}

// A strict template fails an order that reads an undefined variable: the
// template stage names it with line and column, nothing goes to the printer,
// and the failed event is recorded.
func TestStrictTemplateFailsTheOrder(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	tpl := "{\n  \"externalId\": \"{{ orderReferenceId }}\",\n  \"recipient\": \"{{ customer.firstNme }}\"\n}"
	s := p.configure(printer.URL, printer.URL, "json", tpl)
	tplID := p.intakeTemplateOf(s)
	p.adminCall("PUT", "/v1/admin/templates/"+tplID, map[string]any{"name": "intake", "format": "json", "body": tpl, "strict": true}, 200)

	st, out := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "STRICT-1", "customer": {"firstName": "Ann"}}`, nil)
	if st != 202 {
		t.Fatalf("order = %d %v", st, out)
	}
	id := out["id"].(string)
	var d map[string]any
	eventually(t, 20*time.Second, "the order failed", func() bool {
		d = p.requestDetail(id)
		return d["status"] == oi.EventFailed && hasEvent(d, oi.EventFailed)
	})
	proc := d["templateProcessing"].(map[string]any)
	te, _ := proc["error"].(map[string]any)
	if te == nil || te["line"] != float64(3) || te["column"] != float64(20) || !strings.Contains(fmt.Sprint(te["message"]), "customer.firstNme is undefined") {
		t.Errorf("template stage = %v, want an error naming customer.firstNme at 3:20", proc)
	}
	if reason, _ := d["statusReason"].(string); !strings.Contains(reason, "customer.firstNme is undefined") {
		t.Errorf("status reason = %q", reason)
	}
	if d["finalRequest"] != nil {
		t.Errorf("final request = %v, want none", d["finalRequest"])
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(printer.Requests()); n != 0 {
		t.Errorf("printer received %d requests, want none", n)
	}
}
