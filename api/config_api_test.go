package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"orderintake/internal/webtest"
)

// problemAt checks an answer is a problem of status about field.
func problemAt(t *testing.T, what string, status int, out map[string]any, wantStatus int, field string) {
	t.Helper()
	if status != wantStatus || out["status"] != float64(wantStatus) || out["detail"] == "" || (field != "" && out["field"] != field) {
		t.Errorf("%s = %d %v, want a %d problem about %q", what, status, out, wantStatus, field)
	}
}

func TestAdminNeedsTheToken(t *testing.T) {
	e := webtest.New(t)
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": webtest.AdminToken}} {
		status, out, resp, _ := e.Do("GET", "/v1/admin/customers", hdr, "")
		problemAt(t, "GET /v1/admin/customers without the token", status, out, 401, "")
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("401 Content-Type = %q", ct)
		}
	}
}

func TestAdminCustomers(t *testing.T) {
	e := webtest.New(t)
	cu := e.Must("POST", "/v1/admin/customers", map[string]any{"name": " Poster Shop ", "referenceId": "poster-shop",
		"printerId": e.Fx.Printer.ID, "referenceExpression": "{{ order.number }}"}, 201)
	id := cu["id"].(string)
	if cu["name"] != "Poster Shop" || cu["printerId"] != e.Fx.Printer.ID || !strings.HasPrefix(id, "cus_") {
		t.Fatalf("created %v", cu)
	}
	st, out := e.Admin("POST", "/v1/admin/customers", map[string]any{"referenceId": "x"})
	problemAt(t, "create without name", st, out, 422, "name")
	st, out = e.Admin("POST", "/v1/admin/customers", map[string]any{"name": "Dup", "referenceId": "poster-shop"})
	problemAt(t, "create with a taken referenceId", st, out, 409, "")
	st, out = e.Admin("POST", "/v1/admin/customers", map[string]any{"name": "X", "referenceId": "y", "colour": "red"})
	if st != 400 && st != 422 {
		t.Errorf("unknown field = %d %v, want it refused", st, out)
	}
	st, out, _, _ = e.Do("POST", "/v1/admin/customers", map[string]string{"Authorization": "Bearer " + webtest.AdminToken}, `{"name": `)
	problemAt(t, "malformed JSON", st, out, 400, "body")

	list := e.Must("GET", "/v1/admin/customers", nil, 200)
	if items := list["items"].([]any); len(items) != 2 || list["nextCursor"] != nil {
		t.Errorf("list = %v", list)
	}
	if got := e.Must("GET", "/v1/admin/customers/"+id, nil, 200); got["referenceExpression"] != "{{ order.number }}" {
		t.Errorf("get = %v", got)
	}
	st, out = e.Admin("GET", "/v1/admin/customers/cus_nope", nil)
	problemAt(t, "get unknown", st, out, 404, "")

	got := e.Must("PATCH", "/v1/admin/customers/"+id, map[string]any{"name": "Poster Shop EU"}, 200)
	if got["name"] != "Poster Shop EU" || got["referenceId"] != "poster-shop" {
		t.Errorf("patch kept the other fields? %v", got)
	}
	st, out = e.Admin("PATCH", "/v1/admin/customers/"+id, map[string]any{"name": " "})
	problemAt(t, "patch to an empty name", st, out, 422, "name")
	st, out = e.Admin("PATCH", "/v1/admin/customers/cus_nope", map[string]any{"name": "x"})
	problemAt(t, "patch unknown", st, out, 404, "")
}

// TestAdminKeys: a key is shown once, listed by prefix only, works, and
// stops working once revoked.
func TestAdminKeys(t *testing.T) {
	e := webtest.New(t)
	for _, owner := range []struct{ path, use string }{
		{"/v1/admin/customers/" + e.Fx.Customer.ID, "/v1/orders/ord_unknown"},
		{"/v1/admin/printers/" + e.Fx.Printer.ID, "/v1/printer/orders/ord_unknown/events"},
	} {
		k := e.Must("POST", owner.path+"/keys", nil, 201)
		plain, _ := k["key"].(string)
		if plain == "" || !strings.HasPrefix(plain, k["prefix"].(string)) {
			t.Fatalf("created key %v", k)
		}
		keys := e.Must("GET", owner.path+"/keys", nil, 200)["items"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["key"] != nil || keys[0].(map[string]any)["prefix"] != k["prefix"] {
			t.Fatalf("keys list = %v (must show the prefix, never the key)", keys)
		}
		method, body := "GET", ""
		if strings.HasSuffix(owner.use, "/events") {
			method, body = "POST", `{"eventId": "e1", "status": "shipped"}`
		}
		if st, out, _, _ := e.Do(method, owner.use, map[string]string{"X-API-KEY": plain}, body); st != 404 {
			t.Fatalf("the new key on %s = %d %v, want 404 (authenticated, no such order)", owner.use, st, out)
		}
		e.Must("DELETE", owner.path+"/keys/"+k["id"].(string), nil, 204)
		if st, out, _, _ := e.Do(method, owner.use, map[string]string{"X-API-KEY": plain}, body); st != 401 {
			t.Fatalf("a revoked key = %d %v, want 401", st, out)
		}
		st, out := e.Admin("DELETE", owner.path+"/keys/key_nope", nil)
		problemAt(t, "revoke unknown key", st, out, 404, "")
		st, out = e.Admin("POST", strings.TrimSuffix(owner.path, "/"+strings.Split(owner.path, "/")[4])+"/nope/keys", nil)
		problemAt(t, "key for an unknown owner", st, out, 404, "")
		st, out = e.Admin("GET", strings.TrimSuffix(owner.path, "/"+strings.Split(owner.path, "/")[4])+"/nope/keys", nil)
		problemAt(t, "keys of an unknown owner", st, out, 404, "")
	}
}

func TestAdminPrinters(t *testing.T) {
	e := webtest.New(t)
	p := e.Must("POST", "/v1/admin/printers", map[string]any{"name": "Print Co", "url": "https://print.example/orders",
		"format": "xml", "headers": map[string]string{"X-Account": "42"}}, 201)
	id := p["id"].(string)
	if p["timeoutMs"] != float64(15000) || p["format"] != "xml" {
		t.Errorf("created %v (default timeout 15000)", p)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "url": "ftp://print.example"}, "url"},
		{map[string]any{"name": "x", "url": "https://p.example", "format": "csv"}, "format"},
		{map[string]any{"name": "x", "url": "https://p.example", "timeoutMs": 5}, "timeoutMs"},
		{map[string]any{"url": "https://p.example"}, "name"},
	} {
		st, out := e.Admin("POST", "/v1/admin/printers", c.body)
		problemAt(t, "create printer", st, out, 422, c.field)
	}
	if n := len(e.Must("GET", "/v1/admin/printers", nil, 200)["items"].([]any)); n != 2 {
		t.Errorf("%d printers listed, want 2", n)
	}
	e.Must("GET", "/v1/admin/printers/"+id, nil, 200)
	got := e.Must("PATCH", "/v1/admin/printers/"+id, map[string]any{"timeoutMs": 3000}, 200)
	if got["timeoutMs"] != float64(3000) || got["url"] != "https://print.example/orders" {
		t.Errorf("patched %v", got)
	}
	st, out := e.Admin("PATCH", "/v1/admin/printers/"+id, map[string]any{"url": "not a url"})
	problemAt(t, "patch bad url", st, out, 422, "url")
	st, out = e.Admin("GET", "/v1/admin/printers/prn_nope", nil)
	problemAt(t, "get unknown printer", st, out, 404, "")
	st, out = e.Admin("PATCH", "/v1/admin/printers/prn_nope", map[string]any{"name": "x"})
	problemAt(t, "patch unknown printer", st, out, 404, "")
}

func TestAdminTemplates(t *testing.T) {
	e := webtest.New(t)
	tpl := e.Must("POST", "/v1/admin/templates", map[string]any{"name": "shipped", "kind": "webhook", "format": "json",
		"body": `{"event": "{{ event }}"}`}, 201)
	id := tpl["id"].(string)
	if tpl["version"] != float64(1) {
		t.Errorf("created %v", tpl)
	}
	// A syntax error is refused at save time with where it is.
	st, out := e.Admin("POST", "/v1/admin/templates", map[string]any{"name": "bad", "kind": "intake", "format": "json",
		"body": "{\n  \"a\": {{ x }\n}"})
	problemAt(t, "create with a syntax error", st, out, 422, "body")
	if out["line"] != float64(2) {
		t.Errorf("syntax error problem = %v, want line 2", out)
	}
	st, out = e.Admin("POST", "/v1/admin/templates", map[string]any{"name": "x", "kind": "pdf", "format": "json", "body": "{}"})
	problemAt(t, "create with an unknown kind", st, out, 422, "kind")

	v2 := e.Must("PUT", "/v1/admin/templates/"+id, map[string]any{"name": "shipped", "format": "json",
		"body": `{"event": "{{ event }}", "ref": "{{ orderReferenceId }}"}`}, 200)
	if v2["version"] != float64(2) {
		t.Errorf("PUT = %v, want version 2", v2)
	}
	st, out = e.Admin("PUT", "/v1/admin/templates/"+id, map[string]any{"name": "shipped", "kind": "intake", "format": "json", "body": "{}"})
	problemAt(t, "PUT changing the kind", st, out, 422, "kind")
	vs := e.Must("GET", "/v1/admin/templates/"+id+"/versions", nil, 200)["items"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["version"] != float64(2) {
		t.Errorf("versions = %v, want 2 newest first", vs)
	}
	if got := e.Must("GET", "/v1/admin/templates/"+id, nil, 200); got["version"] != float64(2) {
		t.Errorf("get = %v", got)
	}
	if n := len(e.Must("GET", "/v1/admin/templates", nil, 200)["items"].([]any)); n != 3 {
		t.Errorf("%d templates, want 3 (2 seeded)", n)
	}
	for _, p := range []string{"/v1/admin/templates/tpl_nope", "/v1/admin/templates/tpl_nope/versions"} {
		st, out = e.Admin("GET", p, nil)
		problemAt(t, "GET "+p, st, out, 404, "")
	}
	st, out = e.Admin("PUT", "/v1/admin/templates/tpl_nope", map[string]any{"name": "x", "format": "json", "body": "{}"})
	problemAt(t, "PUT unknown", st, out, 404, "")
}

func TestAdminTriggers(t *testing.T) {
	e := webtest.New(t)
	tpls := e.Must("GET", "/v1/admin/templates", nil, 200)["items"].([]any)
	hook := ""
	for _, it := range tpls {
		if it.(map[string]any)["kind"] == "webhook" {
			hook = it.(map[string]any)["id"].(string)
		}
	}
	tr := e.Must("POST", "/v1/admin/triggers", map[string]any{"customerId": e.Fx.Customer.ID, "name": "ship to shop",
		"event": "shipped", "method": "url", "templateId": hook, "url": "https://shop.example/hooks"}, 201)
	id := tr["id"].(string)
	secret, _ := tr["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || tr["status"] != "active" || tr["retryOnFailure"] != true {
		t.Fatalf("created %v (secret once, active and retrying by default)", tr)
	}
	if got := e.Must("GET", "/v1/admin/triggers/"+id, nil, 200); got["secret"] != nil {
		t.Errorf("GET shows the secret again: %v", got)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"customerId": e.Fx.Customer.ID, "name": "x", "event": "lost", "method": "url", "templateId": hook, "url": "https://a.example"}, "event"},
		{map[string]any{"customerId": e.Fx.Customer.ID, "name": "x", "event": "shipped", "method": "email", "templateId": hook}, "emails"},
		{map[string]any{"customerId": e.Fx.Customer.ID, "name": "x", "event": "shipped", "method": "email", "templateId": hook, "emails": []string{"not-an-address"}}, "emails[0]"},
		{map[string]any{"customerId": e.Fx.Customer.ID, "name": "x", "event": "shipped", "method": "url", "templateId": hook, "url": "mailto:x"}, "url"},
	} {
		st, out := e.Admin("POST", "/v1/admin/triggers", c.body)
		problemAt(t, "create trigger", st, out, 422, c.field)
	}
	got := e.Must("PATCH", "/v1/admin/triggers/"+id, map[string]any{"status": "disabled", "retryOnFailure": false}, 200)
	if got["status"] != "disabled" || got["retryOnFailure"] != false || got["url"] != "https://shop.example/hooks" {
		t.Errorf("patched %v", got)
	}
	rot := e.Must("POST", "/v1/admin/triggers/"+id+"/rotate-secret", nil, 200)
	if s, _ := rot["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Errorf("rotated secret %v", rot["secret"])
	}
	mine := e.Must("GET", "/v1/admin/triggers?customerId="+e.Fx.Customer.ID, nil, 200)["items"].([]any)
	if len(mine) != 3 { // two seeded (shipped, delivered) and this one
		t.Errorf("%d triggers of the customer, want 3", len(mine))
	}
	if none := e.Must("GET", "/v1/admin/triggers?customerId=cus_other", nil, 200)["items"].([]any); len(none) != 0 {
		t.Errorf("another customer's triggers = %v", none)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/v1/admin/triggers/trg_nope"},
		{"PATCH", "/v1/admin/triggers/trg_nope"}, {"POST", "/v1/admin/triggers/trg_nope/rotate-secret"}} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"name": "x"}
		}
		st, out := e.Admin(c.method, c.path, body)
		problemAt(t, c.method+" "+c.path, st, out, 404, "")
	}
}

func TestOperationsEndpoints(t *testing.T) {
	e := webtest.New(t)
	if st, out, _, _ := e.Do("GET", "/healthz", nil, ""); st != 200 || out["status"] != "ok" {
		t.Errorf("/healthz = %d %v", st, out)
	}
	st, out, _, _ := e.Do("GET", "/v1/nothing/here", nil, "")
	problemAt(t, "unknown route", st, out, 404, "")
	if st, _, _, _ := e.Do(http.MethodDelete, "/healthz", nil, ""); st != 405 {
		t.Errorf("DELETE /healthz = %d, want 405", st)
	}
}

func TestSMTPSettingsRoute(t *testing.T) {
	e := webtest.New(t)
	got := e.Must("GET", "/v1/admin/settings/smtp", nil, 200)
	if got["hasPassword"] != false {
		t.Errorf("fresh settings = %v", got)
	}
	got = e.Must("PUT", "/v1/admin/settings/smtp", map[string]any{"fromAddress": "orders@psp.example", "fromName": "PSP",
		"host": "smtp.psp.example", "port": 465, "username": "psp", "password": "pw-123", "tls": true}, 200)
	if got["hasPassword"] != true || got["password"] != nil || got["port"] != float64(465) {
		t.Errorf("saved settings = %v (password write-only)", got)
	}
	st, out := e.Admin("PUT", "/v1/admin/settings/smtp", map[string]any{"fromAddress": "orders@psp.example", "host": "smtp.psp.example", "port": 0})
	problemAt(t, "port 0", st, out, 422, "port")
}

// TestOrderRoutesWithoutTemporal covers what the customer and printer
// routes answer before Temporal is involved.
func TestOrderRoutesWithoutTemporal(t *testing.T) {
	e := webtest.New(t)
	id, _ := e.Journey("OWN-1", t0, 201, "received")
	ck, err := e.Store.CreateKey(context.Background(), "customer", e.Fx.Customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := e.Store.CreateKey(context.Background(), "printer", e.Fx.Printer.ID)
	if err != nil {
		t.Fatal(err)
	}
	cust := map[string]string{"X-API-KEY": ck.Key}
	if st, out, _, _ := e.Do("GET", "/v1/orders/"+id, cust, ""); st != 200 || out["status"] != "received" || len(out["events"].([]any)) != 1 {
		t.Errorf("own order = %d %v", st, out)
	}
	st, out, _, _ := e.Do("GET", "/v1/orders/ord_other", cust, "")
	problemAt(t, "unknown order", st, out, 404, "")
	st, out, _, _ = e.Do("POST", "/v1/orders", map[string]string{"X-API-KEY": ck.Key, "Content-Type": "text/csv"}, "a,b")
	problemAt(t, "CSV order", st, out, 415, "Content-Type")
	st, out, _, _ = e.Do("POST", "/v1/orders", cust, `{"orderReferenceId": `)
	problemAt(t, "malformed order", st, out, 400, "body")
	prn := map[string]string{"X-API-KEY": pk.Key}
	st, out, _, _ = e.Do("POST", "/v1/printer/orders/"+id+"/events", prn, `{"eventId": "e9", "status": "lost"}`)
	problemAt(t, "unknown status", st, out, 422, "status")
	st, out, _, _ = e.Do("POST", "/v1/printer/orders/ord_nope/events", prn, `{"eventId": "e9", "status": "shipped"}`)
	problemAt(t, "event for an unknown order", st, out, 404, "")
	st, out, _, _ = e.Do("POST", "/v1/printer/orders/"+id+"/events", cust, `{"eventId": "e9", "status": "shipped"}`)
	problemAt(t, "event with a customer key", st, out, 403, "")
}
