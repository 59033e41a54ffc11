package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/activities"
	"orderintake/internal/webtest"
	"orderintake/mapper"
)

// render calls the render route.
func render(e *webtest.Env, body map[string]any) (int, map[string]any) {
	e.T.Helper()
	return e.Admin("POST", "/v1/admin/templates/render", body)
}

// renderOK renders and decodes a JSON output.
func renderOK(e *webtest.Env, body map[string]any) (map[string]any, map[string]any) {
	e.T.Helper()
	status, out := render(e, body)
	if status != 200 {
		e.T.Fatalf("render %v = %d %v", body, status, out)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out["output"].(string)), &v); err != nil {
		e.T.Fatalf("render output %q is not JSON: %v", out["output"], err)
	}
	return out, v
}

func TestRenderBodyOverInput(t *testing.T) {
	e := webtest.New(t)
	tpl := `{"externalId": "{{ orderReferenceId }}", "copies": {{ items[0].quantity }}, "price": {{ items[0].price }}, "shop": "{{ customer.referenceId }}", "channel": "{{ headers["x-channel"] }}"}`
	out, v := renderOK(e, map[string]any{"body": tpl, "format": "json", "customerId": e.Fx.Customer.ID,
		"headers": map[string]string{"X-Channel": "web"},
		"input":   map[string]any{"orderReferenceId": `R-1 "quoted"`, "items": []any{map[string]any{"quantity": 2, "price": 9.5}}}})
	if v["externalId"] != `R-1 "quoted"` || v["copies"] != float64(2) || v["price"] != 9.5 || v["shop"] != e.Fx.Customer.ReferenceID || v["channel"] != "web" {
		t.Errorf("output %v", v)
	}
	// Integers stay integers, as in a real order (gonja alone writes 2.0).
	if s := out["output"].(string); !strings.Contains(s, `"copies": 2,`) {
		t.Errorf("output %s: copies is not written as the integer 2", s)
	}
	if out["format"] != "json" || out["kind"] != "intake" || out["templateVersion"] != nil {
		t.Errorf("answer %v", out)
	}

	// A raw XML request, parsed as the intake route parses it.
	xml := `<Order id="A-17"><Reference>ORD-2002</Reference><Item sku="FLY-A5"><Qty>250</Qty></Item><Item sku="POS-A2"><Qty>2</Qty></Item></Order>`
	_, v = renderOK(e, map[string]any{"body": `{"ref": "{{ Order.Reference }}", "id": "{{ Order["@id"] }}", "skus": [{% for i in Order.Item %}"{{ i["@sku"] }}"{% if not loop.last %},{% endif %}{% endfor %}]}`,
		"format": "json", "kind": "cancel", "contentType": "application/xml", "input": xml})
	if v["ref"] != "ORD-2002" || v["id"] != "A-17" || len(v["skus"].([]any)) != 2 {
		t.Errorf("XML input output %v", v)
	}
	status, prob := render(e, map[string]any{"body": `{{ a }}`, "format": "text", "contentType": "application/xml", "input": "<Order><a>1</Order>"})
	if status != 422 || prob["field"] != "input" || prob["line"] != float64(1) || prob["column"] == nil {
		t.Errorf("malformed XML input = %d %v, want a 422 about input with line and column", status, prob)
	}
	status, prob = render(e, map[string]any{"body": `{{ a }}`, "format": "text", "contentType": "application/json", "input": map[string]any{"a": 1}})
	problemAt(t, "contentType with a non-string input", status, prob, 422, "input")

	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"format": "json"}, "body"},
		{map[string]any{"body": "{}", "templateId": "tpl_x", "format": "json"}, "templateId"},
		{map[string]any{"body": "{}"}, "format"},
		{map[string]any{"body": "{}", "format": "yaml"}, "format"},
		{map[string]any{"body": "{}", "format": "json", "kind": "sms"}, "kind"},
		{map[string]any{"body": "{}", "format": "json", "event": "lost"}, "event"},
		{map[string]any{"body": "{}", "format": "json", "customerId": "cus_nope"}, "customerId"},
		{map[string]any{"body": "{}", "format": "json", "version": 2}, "version"},
		{map[string]any{"body": "{}", "format": "json", "colour": "red"}, "colour"},
	} {
		status, out := render(e, bad.body)
		problemAt(t, "render "+mustJSON(bad.body), status, out, 422, bad.field)
	}
	status, out = render(e, map[string]any{"templateId": "tpl_nope"})
	problemAt(t, "render of an unknown template", status, out, 404, "")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// seedShippedFixed is the help pages' "Order Shipped" template written so
// that it works with any number of parcels (mapper/testdata/golden).
const seedShippedFixed = `{ "event": "Ordre sendt", "orderId": "##{{ orderId }}", "orderReferenceId": "##{{ orderReferenceId }}", "timestamp": "##{{ created }}", "status": "##{{ fulfillmentStatus }}", "trackingInfo": [
{%- for item in items %}{% set outer = loop %}
{%- for fulfillment in item.fulfillments %}
  { "trackingCode": "##{{ fulfillment.trackingCode }}", "trackingUrl": "##{{ fulfillment.trackingUrl }}", "carrier": "##{{ fulfillment.carrierName }}" }{% if not (loop.last and outer.last) %},{% endif %}
{%- endfor %}
{%- endfor %}
] }`

// seedShipped is the template as the help pages print it: with two parcels
// it writes two trackingCode keys without a comma between them.
const seedShipped = `{ "event": "Ordre sendt", "orderId": "##{{ orderId }}", "orderReferenceId": "##{{ orderReferenceId }}", "timestamp": "##{{ created }}", "status": "##{{ fulfillmentStatus }}", "trackingInfo": { {% for item in items %} {% for fulfillment in item.fulfillments %} "trackingCode": "##{{ fulfillment.trackingCode }}", "trackingUrl": "##{{ fulfillment.trackingUrl }}", "carrier": "##{{ fulfillment.carrierName }}" {% endfor %} {% endfor %} }}`

func TestRenderPostbackTemplateOnTheSample(t *testing.T) {
	e := webtest.New(t)
	out, v := renderOK(e, map[string]any{"body": seedShippedFixed, "format": "json", "kind": "webhook", "event": "shipped",
		"customerId": e.Fx.Customer.ID})
	info, _ := v["trackingInfo"].([]any)
	if out["kind"] != "webhook" || v["status"] != "shipped" || v["orderReferenceId"] != "ORD-1001" || len(info) != 2 {
		t.Fatalf("sample render = %v", v)
	}
	if first := info[0].(map[string]any); first["carrier"] != "DHL" || first["trackingCode"] == "" {
		t.Errorf("tracking entry %v", first)
	}
	// Events without parcels give an empty list, still valid JSON.
	_, v = renderOK(e, map[string]any{"body": seedShippedFixed, "format": "json", "event": "received"})
	if info, _ := v["trackingInfo"].([]any); len(info) != 0 || v["status"] != "received" {
		t.Errorf("received sample = %v", v)
	}
	// Given input is the postback context itself.
	_, v = renderOK(e, map[string]any{"body": seedShippedFixed, "format": "json", "kind": "webhook",
		"input": map[string]any{"orderId": "o1", "fulfillmentStatus": "shipped", "items": []any{
			map[string]any{"fulfillments": []any{map[string]any{"trackingCode": "T1", "carrierName": "UPS"}}}}}})
	if info, _ := v["trackingInfo"].([]any); v["orderId"] != "o1" || len(info) != 1 {
		t.Errorf("render over given context = %v", v)
	}
	status, prob := render(e, map[string]any{"body": seedShippedFixed, "format": "json", "kind": "webhook", "input": []any{1}})
	problemAt(t, "postback input that is not an object", status, prob, 422, "input")

	// A stored e-mail template renders its subject too.
	mail := e.Must("POST", "/v1/admin/templates", map[string]any{"name": "mail", "kind": "email", "format": "text",
		"subject": "Order {{ orderReferenceId }} is {{ event }}", "body": "Tracking: {{ trackingUrl }}"}, 201)
	status, out = render(e, map[string]any{"templateId": mail["id"], "event": "delivered"})
	if status != 200 || out["subject"] != "Order ORD-1001 is delivered" || !strings.HasPrefix(out["output"].(string), "Tracking: https://") {
		t.Errorf("e-mail render = %d %v", status, out)
	}
	// An unknown filter passes the save-time syntax check and fails the render, in the subject.
	e.Must("PUT", "/v1/admin/templates/"+mail["id"].(string), map[string]any{"name": "mail", "format": "text",
		"subject": "Order {{ orderReferenceId | nosuchfilter }}", "body": "x"}, 200)
	status, prob = render(e, map[string]any{"templateId": mail["id"]})
	templateError(t, "subject with an unknown filter", status, prob, "runtime", "template", 1, -1)
	if prob["field"] != "subject" {
		t.Errorf("subject error about field %v", prob["field"])
	}
}

// templateError checks a 422 problem of a failed render at line and column
// (0: not checked; column -1: any column).
func templateError(t *testing.T, what string, status int, p map[string]any, kind, where string, line, column int) {
	t.Helper()
	if status != 422 || p["code"] != oi.ETEMPLATE || p["kind"] != kind || p["where"] != where || p["detail"] == "" {
		t.Errorf("%s = %d %v, want a 422 %s error in the %s", what, status, p, kind, where)
		return
	}
	col, _ := p["column"].(float64)
	if (line > 0 && p["line"] != float64(line)) || (column > 0 && col != float64(column)) || (column < 0 && col < 1) {
		t.Errorf("%s at line %v column %v, want line %d column %d", what, p["line"], p["column"], line, column)
	}
	if ex, _ := p["excerpt"].(string); line != 0 && !strings.Contains(ex, "^") {
		t.Errorf("%s: excerpt %q has no caret", what, ex)
	}
}

func TestRenderErrorsSayKindLineAndColumn(t *testing.T) {
	e := webtest.New(t)
	// syntax: the position is in the template as written (with its "##").
	var long strings.Builder
	long.WriteString("{\n")
	for i := 0; i < 40; i++ {
		long.WriteString(`  "padding` + strings.Repeat("x", i) + `": "some text that should not come back",` + "\n")
	}
	long.WriteString(`  "a": "##{{ a }}", "b": "##{{ b + }}"` + "\n}")
	status, p := render(e, map[string]any{"body": long.String(), "format": "json"})
	templateError(t, "syntax error", status, p, "syntax", "template", 42, 36)
	if raw := mustJSON(p); strings.Contains(raw, "padding") || len(raw) > 1500 {
		t.Errorf("the problem echoes the template: %s", raw)
	}
	if ex := p["excerpt"].(string); !strings.HasPrefix(ex, `  "a": "##{{ a }}"`) {
		t.Errorf("excerpt %q is not the offending line", ex)
	}

	status, p = render(e, map[string]any{"body": "Total: {{ qty }}\nPer item: {{ total / qty }}", "format": "text",
		"input": map[string]any{"qty": 0, "total": 10}})
	templateError(t, "division by zero", status, p, "runtime", "template", 2, 20)

	e.Must("POST", "/v1/admin/lookups", map[string]any{"customerId": e.Fx.Customer.ID, "name": "carrier", "default": "OTHER",
		"rows": []any{map[string]any{"key": "dhl_express", "value": "DHL Express"}}}, 201)
	strict := "{\n  \"carrier\": \"{{ lookups({\"carrier\": carrierUid}, strict=True) }}\"\n}"
	status, p = render(e, map[string]any{"body": strict, "format": "json", "customerId": e.Fx.Customer.ID, "input": map[string]any{"carrierUid": "fedex"}})
	templateError(t, "strict lookup without a row", status, p, "lookup", "template", 2, 15)
	if !strings.Contains(p["detail"].(string), `"fedex"`) || !strings.Contains(p["detail"].(string), `"carrier"`) {
		t.Errorf("lookup error %q does not name the lookup and the value", p["detail"])
	}
	_, v := renderOK(e, map[string]any{"body": strict, "format": "json", "customerId": e.Fx.Customer.ID, "input": map[string]any{"carrierUid": "dhl_express"}})
	if v["carrier"] != "DHL Express" {
		t.Errorf("lookup with a row = %v", v)
	}
	status, p = render(e, map[string]any{"body": strict, "format": "json", "input": map[string]any{"carrierUid": "dhl_express"}})
	templateError(t, "lookup without customerId", status, p, "lookup", "template", 2, 15)

	// output: the help pages' template breaks with two parcels.
	status, p = render(e, map[string]any{"body": seedShipped, "format": "json", "event": "shipped"})
	templateError(t, "the seed's Order Shipped template", status, p, "output", "output", 1, -1)
	if ex := p["excerpt"].(string); !strings.Contains(ex, "trackingCode") || len(ex) > 450 {
		t.Errorf("output excerpt %q", ex)
	}

	status, p = render(e, map[string]any{"body": "{% for i in range(1000000) %}{{ i }}{% endfor %}", "format": "text"})
	templateError(t, "a too large range", status, p, "limit", "template", 0, 0)
}

func TestTemplateVersionsRenderAndRollback(t *testing.T) {
	e := webtest.New(t)
	v1 := `{"v": 1, "ref": "{{ orderReferenceId }}"}`
	v2 := `{"v": 2, "ref": "{{ orderReferenceId }}", "note": "{{ note }}"}`
	tpl := e.Must("POST", "/v1/admin/templates", map[string]any{"name": "versions", "kind": "intake", "format": "json", "body": v1}, 201)
	id := tpl["id"].(string)
	e.Must("PUT", "/v1/admin/templates/"+id, map[string]any{"name": "versions", "format": "json", "body": v2}, 200)

	input := map[string]any{"orderReferenceId": "R-9", "note": "hi"}
	out, v := renderOK(e, map[string]any{"templateId": id, "version": 1, "input": input})
	if v["v"] != float64(1) || out["templateVersion"] != float64(1) || out["kind"] != "intake" {
		t.Errorf("render at version 1 = %v %v", out, v)
	}
	out, v = renderOK(e, map[string]any{"templateId": id, "input": input})
	if v["v"] != float64(2) || v["note"] != "hi" || out["templateVersion"] != float64(2) {
		t.Errorf("render at the current version = %v %v", out, v)
	}
	status, p := render(e, map[string]any{"templateId": id, "version": 9})
	problemAt(t, "render at a missing version", status, p, 422, "version")
	status, p = render(e, map[string]any{"templateId": id, "kind": "webhook"})
	problemAt(t, "render with another kind", status, p, 422, "kind")

	if got := e.Must("GET", "/v1/admin/templates/"+id+"/versions/1", nil, 200); got["body"] != v1 || got["version"] != float64(1) {
		t.Errorf("version 1 = %v", got)
	}
	for _, missing := range []string{"9", "0", "abc"} {
		status, p = e.Admin("GET", "/v1/admin/templates/"+id+"/versions/"+missing, nil)
		problemAt(t, "GET version "+missing, status, p, 404, "")
	}

	back := e.Must("POST", "/v1/admin/templates/"+id+"/rollback", map[string]any{"version": 1}, 200)
	if back["version"] != float64(3) || back["body"] != v1 || back["name"] != "versions" {
		t.Errorf("rollback = %v, want version 3 with version 1's body", back)
	}
	vs := e.Must("GET", "/v1/admin/templates/"+id+"/versions", nil, 200)["items"].([]any)
	if len(vs) != 3 || vs[1].(map[string]any)["body"] != v2 {
		t.Errorf("history after rollback = %v, want 3 versions with version 2 kept", vs)
	}
	for _, bad := range []struct {
		body   map[string]any
		status int
		field  string
	}{{map[string]any{"version": 7}, 422, "version"}, {map[string]any{}, 422, "version"}, {map[string]any{"version": "1"}, 422, "version"}} {
		status, p = e.Admin("POST", "/v1/admin/templates/"+id+"/rollback", bad.body)
		problemAt(t, "rollback "+mustJSON(bad.body), status, p, bad.status, bad.field)
	}
	status, p = e.Admin("POST", "/v1/admin/templates/tpl_nope/rollback", map[string]any{"version": 1})
	problemAt(t, "rollback of an unknown template", status, p, 404, "")
}

// TestOrdersRecordTheTemplateVersion: after an update the next order's
// template processing names version 2, and after a rollback version 3 with
// the old output. The intake activity runs for real on the real store.
func TestOrdersRecordTheTemplateVersion(t *testing.T) {
	e := webtest.New(t)
	tplID := e.Fx.Customer.IntakeTemplateID
	acts := &activities.Activities{Store: e.Store, Mapper: mapper.NewEngine(mapper.Options{})}
	process := func(ref string) map[string]any {
		t.Helper()
		id := e.Order(ref, time.Now().UTC())
		if _, err := acts.ProcessTemplate(context.Background(), id); err != nil {
			t.Fatalf("ProcessTemplate(%s): %v", ref, err)
		}
		return e.Must("GET", "/v1/admin/requests/"+id, nil, 200)["templateProcessing"].(map[string]any)
	}
	if p := process("R-V1"); p["templateVersion"] != float64(1) || p["templateId"] != tplID {
		t.Fatalf("first order's template processing = %v", p)
	}
	body := `{"externalId": "{{ orderReferenceId }}", "channel": "api", "lines": []}`
	e.Must("PUT", "/v1/admin/templates/"+tplID, map[string]any{"name": "intake", "format": "json", "body": body}, 200)
	p := process("R-V2")
	if p["templateVersion"] != float64(2) || !strings.Contains(p["output"].(string), `"channel": "api"`) {
		t.Fatalf("after an update the order's template processing = %v, want version 2 and its output", p)
	}
	e.Must("POST", "/v1/admin/templates/"+tplID+"/rollback", map[string]any{"version": 1}, 200)
	p = process("R-V3")
	if p["templateVersion"] != float64(3) || strings.Contains(p["output"].(string), "channel") {
		t.Fatalf("after a rollback the order's template processing = %v, want version 3 with version 1's output", p)
	}
}
