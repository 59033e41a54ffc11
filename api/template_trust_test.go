package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/activities"
	"orderintake/internal/webtest"
	"orderintake/mapper"
	"orderintake/store"
)

// warningsOf decodes a warnings list as "line:column message" strings.
func warningsOf(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("warnings = %#v, want a list", v)
	}
	out := make([]string, 0, len(list))
	for _, w := range list {
		m := w.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v %v", m["line"], m["column"], m["message"]))
	}
	return out
}

func TestRenderAnswersWarnings(t *testing.T) {
	e := webtest.New(t)
	tpl := "{\n  \"to\": \"{{ customer.firstName }} {{ customer.lastNme }}\",\n  \"by\": \"{{ orderintake.customer.referenceId }}\"\n}"
	input := map[string]any{"customer": map[string]any{"firstName": "José", "lastName": "Núñez"}}
	out, v := renderOK(e, map[string]any{"body": tpl, "format": "json", "customerId": e.Fx.Customer.ID, "input": input})
	if v["to"] != "José " || v["by"] != e.Fx.Customer.ReferenceID {
		t.Errorf("output %v", v)
	}
	got := strings.Join(warningsOf(t, out["warnings"]), "\n")
	want := "2:13 the body's \"customer\" hides orderintake.customer; use orderintake.customer to reach ours\n" +
		"2:38 customer.lastNme is undefined (it printed or tested as empty)"
	if got != want {
		t.Errorf("warnings\n%s\nwant\n%s", got, want)
	}
	// Nothing to warn about: an empty list, never null.
	out, _ = renderOK(e, map[string]any{"body": `{"a": {{ a }}}`, "format": "json", "input": map[string]any{"a": 1}})
	if w, ok := out["warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf("warnings without a problem = %#v, want []", out["warnings"])
	}

	// strict: the same typo is a 422 naming it, with line and column.
	status, prob := render(e, map[string]any{"body": tpl, "format": "json", "input": input, "strict": true})
	problemAt(t, "strict render", status, prob, 422, "body")
	if prob["line"] != float64(2) || prob["column"] != float64(38) || !strings.Contains(prob["detail"].(string), "customer.lastNme is undefined") {
		t.Errorf("strict render problem = %v", prob)
	}
}

func TestTemplateStrictField(t *testing.T) {
	e := webtest.New(t)
	body := `{"name": "{{ customer.name }}", "ref": "{{ orderReferenceId }}"}`
	tpl := e.Must("POST", "/v1/admin/templates", map[string]any{"name": "strict one", "kind": "intake", "format": "json", "body": body, "strict": true}, 201)
	id := tpl["id"].(string)
	if tpl["strict"] != true {
		t.Fatalf("created template = %v, want strict", tpl)
	}
	if got := e.Must("GET", "/v1/admin/templates/"+id, nil, 200); got["strict"] != true {
		t.Errorf("GET = %v", got)
	}
	// A stored strict template renders strictly unless the call says otherwise.
	status, prob := render(e, map[string]any{"templateId": id, "input": map[string]any{"ref": 1}})
	if status != 422 || !strings.Contains(prob["detail"].(string), "orderReferenceId is undefined") || prob["line"] != float64(1) || prob["column"] != float64(44) {
		t.Errorf("stored strict render = %d %v", status, prob)
	}
	out := e.Must("POST", "/v1/admin/templates/render", map[string]any{"templateId": id, "input": map[string]any{"ref": 1}, "strict": false}, 200)
	if len(warningsOf(t, out["warnings"])) != 1 {
		t.Errorf("lenient render of a strict template = %v", out)
	}
	// PUT without strict keeps it; strict false makes a lenient version 3.
	if got := e.Must("PUT", "/v1/admin/templates/"+id, map[string]any{"name": "strict one", "format": "json", "body": body}, 200); got["strict"] != true || got["version"] != float64(2) {
		t.Errorf("PUT without strict = %v", got)
	}
	if got := e.Must("PUT", "/v1/admin/templates/"+id, map[string]any{"name": "strict one", "format": "json", "body": body, "strict": false}, 200); got["strict"] != false {
		t.Errorf("PUT strict false = %v", got)
	}
	vs := e.Must("GET", "/v1/admin/templates/"+id+"/versions", nil, 200)["items"].([]any)
	var flags []any
	for _, v := range vs {
		flags = append(flags, v.(map[string]any)["strict"])
	}
	if fmt.Sprint(flags) != "[false true true]" {
		t.Errorf("versions' strict, newest first = %v", flags)
	}
	// A rollback brings the version's strictness back.
	if got := e.Must("POST", "/v1/admin/templates/"+id+"/rollback", map[string]any{"version": 1}, 200); got["strict"] != true {
		t.Errorf("rollback to a strict version = %v", got)
	}
	if v := e.Must("GET", "/v1/admin/templates/"+id+"/versions/1", nil, 200); v["strict"] != true {
		t.Errorf("version 1 = %v", v)
	}
}

func TestCustomerReferenceExpressionCheckedWhenSaved(t *testing.T) {
	e := webtest.New(t)
	base := map[string]any{"name": "Shop", "referenceId": "SHOP-X"}
	for _, c := range []struct {
		expr      string
		line, col float64
	}{
		{"{{ order. }}", 1, 11},
		{"order.ref +", 1, 12},
		{"{{ order.ref }}{{ other }}", 0, 0},
		{"{% if x %}a{% endif %}", 0, 0},
	} {
		body := map[string]any{"referenceExpression": c.expr}
		for k, v := range base {
			body[k] = v
		}
		status, prob := e.Admin("POST", "/v1/admin/customers", body)
		problemAt(t, "customer with expression "+c.expr, status, prob, 422, "referenceExpression")
		if c.line > 0 && (prob["line"] != c.line || prob["column"] != c.col) {
			t.Errorf("%q: problem at %v:%v, want %v:%v (%v)", c.expr, prob["line"], prob["column"], c.line, c.col, prob)
		}
		status, prob = e.Admin("PATCH", "/v1/admin/customers/"+e.Fx.Customer.ID, map[string]any{"referenceExpression": c.expr})
		problemAt(t, "PATCH with expression "+c.expr, status, prob, 422, "referenceExpression")
	}
	// Both forms are accepted.
	for i, expr := range []string{"{{ order.ref }}", "order.ref", `body["order"]["ref"] | upper`} {
		body := map[string]any{"name": "Shop", "referenceId": fmt.Sprintf("SHOP-%d", i), "referenceExpression": expr}
		if got := e.Must("POST", "/v1/admin/customers", body, 201); got["referenceExpression"] != expr {
			t.Errorf("saved %v", got)
		}
	}
	if got := e.Must("GET", "/v1/admin/customers/"+e.Fx.Customer.ID, nil, 200); got["referenceExpression"] != e.Fx.Customer.ReferenceExpression {
		t.Errorf("refused PATCHes changed the customer: %v", got)
	}
}

// An order under a reference expression that gives nothing is refused
// before any workflow starts (this env has no Temporal) and recorded.
func TestOrderWithoutItsReferenceIsRefused(t *testing.T) {
	e := webtest.New(t)
	e.Must("PATCH", "/v1/admin/customers/"+e.Fx.Customer.ID, map[string]any{"referenceExpression": "{{ order.ref }}"}, 200)
	ck, err := e.Store.CreateKey(context.Background(), "customer", e.Fx.Customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	cust := map[string]string{"X-API-KEY": ck.Key}
	for _, c := range []struct{ body, why string }{
		{`{"order": {"id": 5}}`, "order.ref is undefined"},
		{`{"order": {"ref": ""}}`, "empty value"},
		{`{"order": {"ref": null}}`, "empty value"},
		{`{"orderReferenceId": "R-1"}`, "cannot read order.ref: order is undefined"},
	} {
		st, out, _, _ := e.Do("POST", "/v1/orders", cust, c.body)
		problemAt(t, "order "+c.body, st, out, 422, "body")
		detail, _ := out["detail"].(string)
		if !strings.Contains(detail, `"{{ order.ref }}"`) || !strings.Contains(detail, c.why) || out["referenceExpression"] != "{{ order.ref }}" {
			t.Errorf("order %s refused with %v; want the expression and %q", c.body, out, c.why)
		}
	}
	// Recorded like other refused intake requests.
	deadline := time.Now().Add(5 * time.Second)
	for {
		items := e.Must("GET", "/v1/admin/requests?status=rejected&limit=50", nil, 200)["items"].([]any)
		if len(items) >= 4 {
			d := e.Must("GET", "/v1/admin/requests/"+items[0].(map[string]any)["id"].(string), nil, 200)
			if !strings.Contains(fmt.Sprint(d["rejection"]), "order.ref") {
				t.Errorf("rejection = %v", d["rejection"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rejected requests recorded: %d, want 4", len(items))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The intake activity keeps the render's warnings with the template stage;
// the Requests view and the HQ page show them. A strict template fails the
// order without retries, naming the variable with line and column.
func TestTemplateStageKeepsWarnings(t *testing.T) {
	e := webtest.New(t)
	ctx := context.Background()
	tplID := e.Fx.Customer.IntakeTemplateID
	acts := &activities.Activities{Store: e.Store, Mapper: mapper.NewEngine(mapper.Options{})}
	insert := func(ref, body string) string {
		t.Helper()
		cust := e.Fx.Customer.ID
		id := oi.OrderID(cust, ref)
		if err := e.Store.InsertOrderRequest(ctx, store.NewOrder{ID: id, CustomerID: cust, PrinterID: e.Fx.Printer.ID,
			WorkflowID: "wf-" + ref, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now().UTC(),
			ContentType: "application/json", Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	body := "{\n  \"recipient\": \"{{ customer.firstName }}\",\n  \"vip\": {{ customer.vip }}\n}"
	e.Must("PUT", "/v1/admin/templates/"+tplID, map[string]any{"name": "intake", "format": "json", "body": body}, 200)
	id := insert("W-1", `{"customer": {"firstName": "Ann"}}`)
	if _, err := acts.ProcessTemplate(ctx, id); err != nil {
		t.Fatal(err)
	}
	p := e.Must("GET", "/v1/admin/requests/"+id, nil, 200)["templateProcessing"].(map[string]any)
	got := strings.Join(warningsOf(t, p["warnings"]), "\n")
	want := "2:20 the body's \"customer\" hides orderintake.customer; use orderintake.customer to reach ours\n" +
		"3:13 customer.vip is undefined (it printed or tested as empty)"
	if got != want || !strings.Contains(p["output"].(string), `"recipient": "Ann"`) {
		t.Errorf("template stage = %v\nwarnings\n%s\nwant\n%s", p, got, want)
	}
	b := e.Browser()
	b.Login()
	if st, page := b.Get("/hq/requests/" + id); st != 200 || !strings.Contains(page, `id="template-warnings"`) ||
		!strings.Contains(page, "line 3, column 13") || !strings.Contains(page, "customer.vip is undefined") ||
		!strings.Contains(page, "use orderintake.customer to reach ours") {
		t.Errorf("HQ request page = %d, does not show the warnings:\n%s", st, page)
	}

	// Strict: the order fails, non-retryable, naming the variable where it is read.
	e.Must("PUT", "/v1/admin/templates/"+tplID, map[string]any{"name": "intake", "format": "json", "body": body, "strict": true}, 200)
	id = insert("W-2", `{"customer": {"firstName": "Ann"}}`)
	_, err := acts.ProcessTemplate(ctx, id)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), "customer.vip is undefined") {
		t.Fatalf("strict ProcessTemplate = %v, want a non-retryable template error naming customer.vip", err)
	}
	p = e.Must("GET", "/v1/admin/requests/"+id, nil, 200)["templateProcessing"].(map[string]any)
	te, _ := p["error"].(map[string]any)
	if te == nil || te["line"] != float64(3) || te["column"] != float64(13) || !strings.Contains(fmt.Sprint(te["message"]), "customer.vip is undefined") || p["output"] != nil {
		t.Errorf("strict template stage = %v", p)
	}
}
