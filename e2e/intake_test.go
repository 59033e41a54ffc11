//go:build !nodev

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
)

func TestIntakeIdempotency(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	s := p.configure(printer.URL, printer.URL, "json", testenv.IntakeJSON)
	body := `{"orderReferenceId": "IDEM-1", "items": [{"sku": "A", "quantity": 1}]}`

	// Reference-based: the same body again finds the same order.
	st1, first := p.submit(s.customerKey, "application/json", body, nil)
	st2, again := p.submit(s.customerKey, "application/json", body, nil)
	if st1 != 202 || st2 != 200 || first["id"] != again["id"] {
		t.Fatalf("first = %d %v, repeat = %d %v; want 202 then 200 with the same id", st1, first, st2, again)
	}
	// Same reference, different body: conflict, nothing started.
	st3, conflict := p.submit(s.customerKey, "application/json", strings.Replace(body, `"quantity": 1`, `"quantity": 5`, 1), nil)
	if st3 != 409 || conflict["code"] != oi.ECONFLICT {
		t.Fatalf("changed body = %d %v, want 409", st3, conflict)
	}
	// Idempotency-Key wins over the reference.
	h := map[string]string{"Idempotency-Key": "key-123"}
	st4, k1 := p.submit(s.customerKey, "application/json", body, h)
	st5, k2 := p.submit(s.customerKey, "application/json", body, h)
	if st4 != 202 || st5 != 200 || k1["id"] != k2["id"] || k1["id"] == first["id"] {
		t.Fatalf("Idempotency-Key: %d %v then %d %v", st4, k1, st5, k2)
	}
	if st, out := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "other"}`, h); st != 409 {
		t.Fatalf("same Idempotency-Key, other body = %d %v, want 409", st, out)
	}
	// No key and no reference: every request is a new order.
	noRef := `{"items": []}`
	st6, a := p.submit(s.customerKey, "application/json", noRef, nil)
	st7, b := p.submit(s.customerKey, "application/json", noRef, nil)
	if st6 != 202 || st7 != 202 || a["id"] == b["id"] {
		t.Fatalf("no key: %d %v and %d %v, want two orders", st6, a, st7, b)
	}
	eventually(t, 20*time.Second, "three orders at the printer", func() bool { return len(printer.Requests()) == 4 })
}

func TestIntakeAndEventsRefuseBadInput(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	s := p.configure(printer.URL, printer.URL, "json", testenv.IntakeJSON, oi.EventReceived)
	other := p.configure(printer.URL, printer.URL, "json", testenv.IntakeJSON)

	cases := []struct {
		name, key, ctype, body string
		want                   int
		code                   string
	}{
		{"malformed JSON", s.customerKey, "application/json", "{\n  \"orderReferenceId\": \"X\",\n  \"items\": [1, 2,,]\n}", 400, oi.EMALFORMED},
		{"truncated JSON", s.customerKey, "application/json", `{"orderReferenceId": "X"`, 400, oi.EMALFORMED},
		{"malformed XML", s.customerKey, "application/xml", `<order><ref>1</order>`, 400, oi.EMALFORMED},
		{"XML with DOCTYPE", s.customerKey, "application/xml", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><order>&a;</order>`, 400, oi.EMALFORMED},
		{"empty body", s.customerKey, "application/json", ``, 400, oi.EMALFORMED},
		{"unsupported type", s.customerKey, "text/csv", `a,b`, 415, oi.EUNSUPPORTED},
		{"unknown key", "ck_nope", "application/json", `{}`, 401, oi.EUNAUTHORIZED},
		{"printer key on intake", s.printerKey, "application/json", `{}`, 403, oi.EFORBIDDEN},
		{"over 1 MiB", s.customerKey, "application/json", `{"pad": "` + strings.Repeat("x", 1<<20) + `"}`, 413, oi.ETOOLARGE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", p.api.URL+"/v1/orders", strings.NewReader(c.body))
			req.Header.Set("X-API-KEY", c.key)
			req.Header.Set("Content-Type", c.ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s), want %d problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), c.want)
			}
		})
	}
	// The malformed JSON problem says where.
	_, prob := p.submit(s.customerKey, "application/json", "{\n  \"items\": [1, 2,,]\n}", nil)
	if prob["line"] != float64(2) || prob["field"] != "body" {
		t.Fatalf("problem = %v, want line 2 of the body", prob)
	}

	// Events route.
	st, order := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "BAD-EV", "items": []}`, nil)
	if st != 202 {
		t.Fatalf("submit = %d %v", st, order)
	}
	id := order["id"].(string)
	eventually(t, 20*time.Second, "the order to reach the printer", func() bool { return len(printer.Requests()) == 1 })
	evCases := []struct {
		name, key, order string
		body             map[string]any
		want             int
		field            string
	}{
		{"unknown order", s.printerKey, "ord_doesnotexist", map[string]any{"eventId": "e", "status": "received"}, 404, ""},
		{"unknown status", s.printerKey, id, map[string]any{"eventId": "e", "status": "printed"}, 422, "status"},
		{"missing event id", s.printerKey, id, map[string]any{"status": "received"}, 422, "eventId"},
		{"unknown field", s.printerKey, id, map[string]any{"eventId": "e", "status": "shipped", "tracking_code": "x"}, 422, "tracking_code"},
		{"bad timestamp", s.printerKey, id, map[string]any{"eventId": "e", "status": "shipped", "timestamp": "yesterday"}, 422, "timestamp"},
		{"another printer", other.printerKey, id, map[string]any{"eventId": "e", "status": "received"}, 403, ""},
		{"customer key", s.customerKey, id, map[string]any{"eventId": "e", "status": "received"}, 403, ""},
	}
	for _, c := range evCases {
		t.Run("event "+c.name, func(t *testing.T) {
			st, out := p.event(c.key, c.order, c.body)
			if st != c.want || (c.field != "" && out["field"] != c.field) {
				t.Fatalf("= %d %v, want %d on field %q", st, out, c.want, c.field)
			}
		})
	}
	if st, out := p.event(s.printerKey, id, map[string]any{"eventId": "ok-1", "status": "received"}); st != 202 {
		t.Fatalf("valid event = %d %v", st, out)
	}
}
