package api

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	oi "orderintake"
)

// clientError fails unless err is an *oi.Error with one of codes: bad
// input must always become a problem the client can read, never a panic or
// an internal error.
func clientError(t *testing.T, err error, codes ...string) {
	t.Helper()
	var e *oi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a client error", err, err)
	}
	for _, c := range codes {
		if e.Code == c {
			if e.Message == "" {
				t.Fatalf("error %s has no message", e.Code)
			}
			return
		}
	}
	t.Fatalf("error code %q, want one of %v (%v)", e.Code, codes, err)
}

// FuzzIntakeParse: any Content-Type, body and Idempotency-Key give either
// an order key and reference fit to name a workflow and fill a text
// column, or a client error.
func FuzzIntakeParse(f *testing.F) {
	f.Add("application/json", []byte(`{"orderReferenceId": "A-1", "items": [{"sku": "X", "quantity": 2}]}`), "")
	f.Add("application/xml", []byte(`<?xml version="1.0"?><order><orderReferenceId>B-2</orderReferenceId><items><item sku="A&amp;B" quantity="1"/></items></order>`), "key-1")
	f.Add("", []byte(`<order reference="7"><a>1</a><a>2</a></order>`), "")
	f.Add("application/vnd.shop+json; charset=utf-8", []byte(`{"reference": 12345678901234567890}`), "")
	f.Add("text/xml", []byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`), "")
	f.Add("application/json", []byte(strings.Repeat("[", 70)+strings.Repeat("]", 70)), "k\x00")
	f.Add("application/json", []byte("{\"orderReferenceId\": \"\\u0000\"}"), "\xff")
	f.Add("text/csv", []byte("a,b"), "")
	f.Fuzz(func(t *testing.T, contentType string, body []byte, idemKey string) {
		ct, err := orderContentType(contentType)
		if err != nil {
			clientError(t, err, oi.EUNSUPPORTED)
			return
		}
		parsed, err := parseOrderBody(ct, body)
		if err != nil {
			clientError(t, err, oi.EMALFORMED)
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("a body with invalid UTF-8 parsed")
		}
		ref := defaultReference(parsed)
		if len(ref) > 255 {
			ref = strings.ToValidUTF8(ref[:255], "")
		}
		key, err := orderKey(idemKey, ref)
		if err != nil {
			clientError(t, err, oi.EINVALID)
			return
		}
		if key == "" || len(key) > 255 || (idemKey != "" && !printable(key)) {
			t.Fatalf("order key %q is not fit for a workflow id", key)
		}
		if id := oi.OrderID("cus_x", key); len(id) != 30 || strings.ContainsAny(id, "/?#% ") {
			t.Fatalf("order id %q is not URL-safe", id)
		}
	})
}

// FuzzEventBody: any body of the printer events route gives an event fit
// for the workflow and the database, or a client error.
func FuzzEventBody(f *testing.F) {
	f.Add([]byte(`{"eventId": "e-1", "status": "shipped", "timestamp": "2026-11-22T10:00:00Z", "trackingCode": "T1", "trackingUrl": "https://t/1", "carrierName": "DHL", "message": "on its way"}`))
	f.Add([]byte(`{"eventId": "e-2", "status": "printed"}`))
	f.Add([]byte(`{"eventId": "e", "status": "received", "tracking_code": "x"}`))
	f.Add([]byte(`{"eventId": 5}`))
	f.Add([]byte(`{"eventId": "e\u0000", "status": "delivered", "message": "\u0000"}`))
	f.Add([]byte("{\"eventId\": \"\xff\"}"))
	f.Add([]byte(`{"eventId": "e"}{"eventId": "f"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		var b eventBody
		if err := decodeStrict(body, &b); err != nil {
			clientError(t, err, oi.EMALFORMED, oi.EINVALID)
			return
		}
		ev, err := b.validate()
		if err != nil {
			clientError(t, err, oi.EINVALID)
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("a body with invalid UTF-8 was taken")
		}
		if ev.EventID == "" || len(ev.EventID) > 200 || !printable(ev.EventID) || !oi.IsEvent(ev.Status) || len(ev.Message) > 4000 {
			t.Fatalf("event %+v taken", ev)
		}
		for _, v := range []string{ev.Message, ev.TrackingCode, ev.TrackingURL, ev.CarrierName} {
			if strings.ContainsRune(v, 0) {
				t.Fatalf("event with NUL taken: %+v", ev)
			}
		}
		if ev.Timestamp.IsZero() {
			t.Fatalf("event without a time: %+v", ev)
		}
	})
}
