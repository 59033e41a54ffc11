package mapper

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchOrderBody is a merchant order of n items, as JSON or XML.
func benchOrderBody(n int, xml bool) []byte {
	var b strings.Builder
	if xml {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><order currency="EUR"><orderReferenceId>ORD-1001</orderReferenceId>` +
			`<shippingAddress><firstName>Ada</firstName><lastName>Lovelace</lastName><city>København</city><country>DK</country></shippingAddress><items>`)
		for i := range n {
			fmt.Fprintf(&b, `<item sku="POSTER-%d"><quantity>%d</quantity><price>%d.95</price><title>Flyer &quot;Spring&quot; #%d</title>`+
				`<file type="default">https://files.example.com/o/%d.pdf</file></item>`, i, i+1, i, i, i)
		}
		b.WriteString(`</items></order>`)
		return []byte(b.String())
	}
	b.WriteString(`{"orderReferenceId": "ORD-1001", "currency": "EUR", "shippingAddress": {"firstName": "Ada", "lastName": "Lovelace", "city": "København", "country": "DK"}, "items": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"sku": "POSTER-%d", "quantity": %d, "price": %d.95, "title": "Flyer \"Spring\" #%d", "files": [{"type": "default", "url": "https://files.example.com/o/%d.pdf"}]}`, i, i+1, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func benchParse(b *testing.B, contentType string, body []byte) {
	if _, _, err := ParseInput(contentType, body); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseInput(contentType, body); err != nil {
			b.Fatal(err)
		}
	}
}

// Intake parses every order body twice (the API for the reference, the
// template stage for its input) and once per postback for its context.
func BenchmarkParseInputJSON2Items(b *testing.B) {
	benchParse(b, "application/json", benchOrderBody(2, false))
}

func BenchmarkParseInputJSON50Items(b *testing.B) {
	benchParse(b, "application/json", benchOrderBody(50, false))
}

func BenchmarkParseInputXML50Items(b *testing.B) {
	benchParse(b, "application/xml", benchOrderBody(50, true))
}

// BenchmarkRenderPostback is one webhook body: rendered once per (event, trigger).
func BenchmarkRenderPostback(b *testing.B) {
	e := NewEngine(Options{})
	data, _ := SamplePostbackContext("shipped")
	t := Template{ID: "tpl_bench_hook", Version: 1, Format: FormatJSON, Body: `{"event": "{{ event }}", "orderId": "{{ orderId }}",
  "orderReferenceId": "{{ orderReferenceId }}", "status": "{{ fulfillmentStatus }}", "timestamp": "{{ created }}",
  "items": [{% for item in items %}{"sku": "{{ item.sku }}", "tracking": [{% for f in item.fulfillments %}"{{ f.trackingCode }}"{% if not loop.last %},{% endif %}{% endfor %}]}{% if not loop.last %},{% endif %}{% endfor %}]}`}
	ctx := context.Background()
	out, err := e.Render(ctx, t, data, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Render(ctx, t, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
