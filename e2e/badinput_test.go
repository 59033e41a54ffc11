//go:build !nodev

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
)

// badCase is one bad request and what it must get.
type badCase struct {
	name, ctype, body string
	hdr               map[string]string
	want              int
	code              string
}

var (
	jsonDepthBomb = strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	xmlDepthBomb  = strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000)
	billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><order>&lol3;</order>`
)

// Every bad order body gets a clear problem document, and each is kept as
// a rejected request of its customer, listed in the Requests view.
func TestBadOrdersAreRefusedAndRecorded(t *testing.T) {
	p := startProduct(t)
	prn := testenv.NewServer(t)
	s := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON)
	ts, _ := accessServer(t, p, 0, 0)

	cases := []badCase{
		{"malformed JSON", "application/json", `{"orderReferenceId": "X", "items": [1, 2,,]}`, nil, 400, oi.EMALFORMED},
		{"truncated JSON", "application/json", `{"orderReferenceId": "X", "items": [`, nil, 400, oi.EMALFORMED},
		{"trailing data", "application/json", `{"orderReferenceId": "X"} {"again": 1}`, nil, 400, oi.EMALFORMED},
		{"malformed XML", "application/xml", `<order><ref>1</order>`, nil, 400, oi.EMALFORMED},
		{"truncated XML", "application/xml", `<order><orderReferenceId>X</orderReferenceId><items>`, nil, 400, oi.EMALFORMED},
		{"invalid UTF-8 JSON", "application/json", "{\"orderReferenceId\": \"caf\xe9\"}", nil, 400, oi.EMALFORMED},
		{"invalid UTF-8 XML", "application/xml", "<order><orderReferenceId>caf\xe9</orderReferenceId></order>", nil, 400, oi.EMALFORMED},
		{"DOCTYPE", "application/xml", `<?xml version="1.0"?><!DOCTYPE order><order/>`, nil, 400, oi.EMALFORMED},
		{"external entity", "application/xml", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><order>&xxe;</order>`, nil, 400, oi.EMALFORMED},
		{"billion laughs", "application/xml", billionLaughs, nil, 400, oi.EMALFORMED},
		{"JSON nested 100000 deep", "application/json", jsonDepthBomb, nil, 400, oi.EMALFORMED},
		{"XML nested 5000 deep", "application/xml", xmlDepthBomb, nil, 400, oi.EMALFORMED},
		{"over 1 MiB", "application/json", `{"pad": "` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, oi.ETOOLARGE},
		{"empty", "application/json", ``, nil, 400, oi.EMALFORMED},
		{"not JSON or XML", "text/csv", "a,b\n1,2", nil, 415, oi.EUNSUPPORTED},
		{"bad media type", "application/json; charset", `{}`, nil, 415, oi.EUNSUPPORTED},
		{"XML sent as JSON", "application/json", `<order/>`, nil, 400, oi.EMALFORMED},
		{"NUL in the reference", "application/json", `{"orderReferenceId": "A\u0000B"}`, nil, 422, oi.EINVALID},
		{"control character in the reference", "application/json", `{"orderReferenceId": "A\nB"}`, nil, 422, oi.EINVALID},
		{"invalid UTF-8 Idempotency-Key", "application/json", `{"items": []}`, map[string]string{"Idempotency-Key": "k\xff\xfe"}, 422, oi.EINVALID},
		{"Idempotency-Key of 300 bytes", "application/json", `{"items": []}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}, 422, oi.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"X-API-KEY": s.customerKey, "Content-Type": c.ctype}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			st, h, body := accessCall(t, ts.URL, nil, "POST", "/v1/orders", credential{header: hdr, body: c.body})
			var prob map[string]any
			_ = json.Unmarshal([]byte(body), &prob)
			if st != c.want || h.Get("Content-Type") != "application/problem+json" || prob["code"] != c.code || prob["detail"] == "" {
				t.Fatalf("= %d %s %.300s, want %d problem with code %s", st, h.Get("Content-Type"), body, c.want, c.code)
			}
		})
	}
	if n := len(prn.Requests()); n != 0 {
		t.Errorf("the printer got %d requests from bad orders", n)
	}

	// The Requests view lists each of them as rejected, newest first.
	list := p.adminCall("GET", "/v1/admin/requests?status=rejected&customerId="+s.customerID+"&limit=100", nil, 200)
	items, _ := list["items"].([]any)
	if len(items) != len(cases) {
		t.Fatalf("%d rejected requests listed, want %d", len(items), len(cases))
	}
	byReason := map[string]map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		detail := p.adminCall("GET", "/v1/admin/requests/"+m["id"].(string), nil, 200)
		rej, _ := detail["rejection"].(map[string]any)
		if detail["status"] != oi.StatusRejected || rej == nil || rej["code"] == nil || rej["path"] != "/v1/orders" {
			t.Fatalf("rejected request detail = %v", detail)
		}
		byReason[fmt.Sprint(rej["code"], " ", rej["status"])] = detail
	}
	mal := byReason["malformed 400"]
	if mal == nil || mal["originalRequest"].(map[string]any)["body"] == "" {
		t.Errorf("a malformed order is recorded without its body: %v", mal)
	}
	big := byReason["too_large 413"]
	if big == nil {
		t.Fatal("the oversize order is not recorded")
	}
	rej := big["rejection"].(map[string]any)
	if rej["bodyTruncated"] != true || len(big["originalRequest"].(map[string]any)["body"].(string)) != 64<<10 {
		t.Errorf("oversize order: kept %d bytes, truncated %v; want the first 64 KiB", len(big["originalRequest"].(map[string]any)["body"].(string)), rej["bodyTruncated"])
	}
	for _, h := range []string{"x-api-key", "authorization"} {
		if _, ok := big["originalRequest"].(map[string]any)["headers"].(map[string]any)[h]; ok {
			t.Errorf("a rejected request keeps the %s header", h)
		}
	}
	// Accepted orders are not mixed in.
	if st, out := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "GOOD-1", "items": []}`, nil); st != 202 {
		t.Fatalf("a good order after the bad ones = %d %v", st, out)
	}
	list = p.adminCall("GET", "/v1/admin/requests?status=rejected&customerId="+s.customerID+"&limit=100", nil, 200)
	if n := len(list["items"].([]any)); n != len(cases) {
		t.Errorf("%d rejected after a good order, want %d", n, len(cases))
	}
}

// Bad event bodies get a clear problem document and change nothing.
func TestBadEventsAreRefused(t *testing.T) {
	p := startProduct(t)
	prn := testenv.NewServer(t)
	prn.Default = http.StatusCreated
	s := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON, oi.EventReceived)
	ts, _ := accessServer(t, p, 0, 0)
	st, order := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "EV-BAD-1", "items": []}`, nil)
	if st != 202 {
		t.Fatalf("submit = %d %v", st, order)
	}
	id := order["id"].(string)
	eventually(t, 20*time.Second, "the order at the printer", func() bool { return len(prn.Requests()) == 1 })

	cases := []badCase{
		{"malformed", "application/json", `{"eventId": "e1", "status": "received",}`, nil, 400, oi.EMALFORMED},
		{"truncated", "application/json", `{"eventId": "e1", "status": "rec`, nil, 400, oi.EMALFORMED},
		{"invalid UTF-8", "application/json", "{\"eventId\": \"e\xff\", \"status\": \"received\"}", nil, 400, oi.EMALFORMED},
		{"nested 60000 deep", "application/json", `{"eventId": ` + strings.Repeat("[", 60000), nil, 400, oi.EMALFORMED},
		{"over 64 KiB", "application/json", `{"eventId": "e1", "status": "received", "message": "` + strings.Repeat("x", 70<<10) + `"}`, nil, 413, oi.ETOOLARGE},
		{"unknown field", "application/json", `{"eventId": "e1", "status": "received", "tracking_code": "T"}`, nil, 422, oi.EINVALID},
		{"wrong type", "application/json", `{"eventId": 7, "status": "received"}`, nil, 422, oi.EINVALID},
		{"NUL in message", "application/json", `{"eventId": "e1", "status": "received", "message": "a\u0000b"}`, nil, 422, oi.EINVALID},
		{"control character in eventId", "application/json", `{"eventId": "e\u0001", "status": "received"}`, nil, 422, oi.EINVALID},
		{"empty", "application/json", ``, nil, 400, oi.EMALFORMED},
		{"array", "application/json", `[{"eventId": "e1", "status": "received"}]`, nil, 422, oi.EINVALID},
		{"two objects", "application/json", `{"eventId": "e1", "status": "received"}{"eventId": "e2"}`, nil, 400, oi.EMALFORMED},
		{"XML", "application/xml", `<event><eventId>e1</eventId></event>`, nil, 400, oi.EMALFORMED},
		{"bad timestamp", "application/json", `{"eventId": "e1", "status": "received", "timestamp": "2026-13-45"}`, nil, 422, oi.EINVALID},
		{"unknown status", "application/json", `{"eventId": "e1", "status": "printed"}`, nil, 422, oi.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, h, body := accessCall(t, ts.URL, nil, "POST", "/v1/printer/orders/"+id+"/events",
				credential{header: map[string]string{"X-API-KEY": s.printerKey, "Content-Type": c.ctype}, body: c.body})
			var prob map[string]any
			_ = json.Unmarshal([]byte(body), &prob)
			if st != c.want || h.Get("Content-Type") != "application/problem+json" || prob["code"] != c.code {
				t.Fatalf("= %d %s %.300s, want %d problem with code %s", st, h.Get("Content-Type"), body, c.want, c.code)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if got := p.adminCall("GET", "/v1/admin/requests/"+id, nil, 200)["events"].([]any); len(got) != 0 {
		t.Errorf("bad events left %d event records", len(got))
	}

	// Odd ids in paths are a 4xx, never a server error.
	for _, odd := range []string{"%FF%FE", "%00", strings.Repeat("o", 10000), "..%2F..%2Fetc", "ord_%E2%80%AE"} {
		for _, c := range []struct{ method, path, key string }{
			{"GET", "/v1/orders/" + odd, s.customerKey},
			{"POST", "/v1/printer/orders/" + odd + "/events", s.printerKey},
		} {
			st, h, body := accessCall(t, ts.URL, nil, c.method, c.path, credential{header: map[string]string{"X-API-KEY": c.key},
				body: `{"eventId": "e1", "status": "received"}`})
			if st < 400 || st >= 500 || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %.60s = %d %.200s, want a 4xx problem", c.method, c.path, st, body)
			}
		}
	}
}

// Bad bodies and parameters on every admin route that takes input: a 4xx
// problem, never a server error and never a change.
func TestBadAdminInput(t *testing.T) {
	p := startProduct(t)
	prn := testenv.NewServer(t)
	s := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON, oi.EventShipped)
	ts, eng := accessServer(t, p, 0, 0)
	adminHdr := func(ctype string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + p.admin, "Content-Type": ctype}
	}
	// Real ids, so that updates get as far as reading their body.
	ids := map[string]string{"customers": s.customerID}
	for res, list := range map[string]string{"printers": "/v1/admin/printers", "templates": "/v1/admin/templates", "triggers": "/v1/admin/triggers"} {
		if items, _ := p.adminCall("GET", list, nil, 200)["items"].([]any); len(items) > 0 {
			ids[res] = items[0].(map[string]any)["id"].(string)
		}
	}
	bodies := []struct{ name, ctype, body string }{
		{"malformed JSON", "application/json", `{"name": "x",}`},
		{"truncated JSON", "application/json", `{"name": "x`},
		{"invalid UTF-8", "application/json", "{\"name\": \"\xff\"}"},
		{"nested deep", "application/json", strings.Repeat(`{"a":`, 20000)},
		{"over 1 MiB", "application/json", `{"name": "` + strings.Repeat("x", 1<<20) + `"}`},
		{"NUL in text", "application/json", `{"name": "a\u0000b", "referenceId": "r\u0000", "url": "http://x/\u0000", "body": "\u0000"}`},
		{"unknown field", "application/json", `{"nmae": "typo"}`},
	}
	checked := 0
	for _, r := range eng.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/admin/") || (r.Method != "POST" && r.Method != "PUT" && r.Method != "PATCH") {
			continue
		}
		path := r.Path
		for res, id := range ids {
			path = strings.Replace(path, "/"+res+"/:id", "/"+res+"/"+id, 1)
		}
		path = paramRe.ReplaceAllString(path, "x_unknown")
		takesBody := !strings.HasSuffix(path, "/keys") && !strings.HasSuffix(path, "/rotate-secret") && !strings.Contains(path, "x_unknown")
		for _, b := range bodies {
			st, h, body := accessCall(t, ts.URL, nil, r.Method, path, credential{header: adminHdr(b.ctype), body: b.body})
			switch {
			case st >= 500:
				t.Errorf("%s %s with %s = %d %.300s", r.Method, path, b.name, st, body)
			case st >= 400 && h.Get("Content-Type") != "application/problem+json":
				t.Errorf("%s %s with %s = %d as %q, want a problem document", r.Method, path, b.name, st, h.Get("Content-Type"))
			case takesBody && st < 400:
				t.Errorf("%s %s accepted %s: %d %.300s", r.Method, path, b.name, st, body)
			}
			checked++
		}
	}
	// Bad list parameters.
	for _, q := range []string{"from=yesterday", "to=2026-99-01T00:00:00Z", "limit=0", "limit=100000", "limit=x", "cursor=not-a-cursor",
		"customerId=%FF%FE", "status=%00", "reference=%FF", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"} {
		for _, list := range []string{"/v1/admin/requests", "/v1/admin/postbacks"} {
			st, h, body := accessCall(t, ts.URL, nil, "GET", list+"?"+q, credential{header: adminHdr("")})
			if st < 400 || st >= 500 || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET %s?%s = %d %.200s, want a 4xx problem", list, q, st, body)
			}
			checked++
		}
	}
	if items := p.adminCall("GET", "/v1/admin/customers", nil, 200)["items"].([]any); len(items) != 1 {
		t.Errorf("bad admin input created customers: %d", len(items))
	}
	t.Logf("BAD ADMIN INPUT: %d requests, none a server error", checked)
}
