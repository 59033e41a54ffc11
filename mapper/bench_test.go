package mapper

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"text/template"
	"time"
)

// benchOrder is a realistic merchant order with n items, parsed as intake input.
func benchOrder(tb testing.TB, n int) map[string]any {
	tb.Helper()
	var items []string
	for i := 0; i < n; i++ {
		items = append(items, fmt.Sprintf(`{"itemReferenceId": "ITEM-%d", "productUid": "flyer_a5_170gsm_4-4", "quantity": %d, "price": %d.95,
			"title": "Flyer \"Spring\" #%d", "files": [{"type": "default", "url": "https://files.example.com/o/%d.pdf"}]}`, i, i+1, i, i, i))
	}
	body := fmt.Sprintf(`{"orderReferenceId": "ORD-1001", "currency": "EUR", "shipmentMethodUid": "express",
		"shippingAddress": {"firstName": "Ada", "lastName": "Lovelace", "addressLine1": "Vesterbrogade 1", "city": "København", "postCode": "1620", "country": "DK", "email": "ada@example.com"},
		"items": [%s]}`, joinStrings(items, ","))
	v, _, err := ParseInputOrdered("application/json", []byte(body))
	if err != nil {
		tb.Fatal(err)
	}
	return IntakeContext(v, map[string][]string{"Content-Type": {"application/json"}}, CustomerInfo{ID: "cus_1", Name: "Acme", ReferenceID: "ACME"}, time.Unix(1700000000, 0))
}

func joinStrings(s []string, sep string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(x)
	}
	return b.String()
}

const benchIntakeTemplate = `{
  "orderReferenceId": "{{ orderReferenceId }}",
  "customerReference": "{{ customer.referenceId }}",
  "currency": "{{ currency | default("EUR") }}",
  "shipmentMethodUid": "{{ lookups({"shipping": shipmentMethodUid}, default="normal") }}",
  "shippingAddress": {
    "name": "{{ shippingAddress.firstName }} {{ shippingAddress.lastName }}",
    "addressLine1": "{{ shippingAddress.addressLine1 }}",
    "city": "{{ shippingAddress.city | upper }}",
    "postCode": "{{ shippingAddress.postCode }}",
    "country": "{{ shippingAddress.country }}",
    "email": "{{ shippingAddress.email }}"
  },
  "items": [
    {% for item in items %}
    {
      "itemReferenceId": "{{ item.itemReferenceId }}",
      "productUid": "{{ item.productUid }}",
      "title": "{{ item.title }}",
      "quantity": {{ item.quantity }},
      "unitPrice": {{ item.price }},
      "total": {{ item.price * item.quantity }},
      "fileUrl": "{{ (item.files | first).url }}"
    }{% if not loop.last %},{% endif %}
    {% endfor %}
  ],
  "receivedAt": "{{ now }}"
}`

// The same payload with Go's text/template, escaping done by the caller's
// helper as a gonja-free baseline.
const benchTextTemplate = `{
  "orderReferenceId": {{ js .orderReferenceId }},
  "customerReference": {{ js .customer.referenceId }},
  "currency": {{ js .currency }},
  "shipmentMethodUid": {{ js (lookup "shipping" .shipmentMethodUid) }},
  "shippingAddress": {
    "name": {{ js (printf "%s %s" .shippingAddress.firstName .shippingAddress.lastName) }},
    "addressLine1": {{ js .shippingAddress.addressLine1 }},
    "city": {{ js (upper .shippingAddress.city) }},
    "postCode": {{ js .shippingAddress.postCode }},
    "country": {{ js .shippingAddress.country }},
    "email": {{ js .shippingAddress.email }}
  },
  "items": [
    {{ range $i, $item := .items }}{{ if $i }},{{ end }}
    {
      "itemReferenceId": {{ js $item.itemReferenceId }},
      "productUid": {{ js $item.productUid }},
      "title": {{ js $item.title }},
      "quantity": {{ js $item.quantity }},
      "unitPrice": {{ js $item.price }},
      "total": {{ js (mul $item.price $item.quantity) }},
      "fileUrl": {{ js (index $item.files 0).url }}
    }
    {{ end }}
  ],
  "receivedAt": {{ js .now }}
}`

func BenchmarkRenderIntake50Items(b *testing.B) {
	e := NewEngine(Options{})
	data := benchOrder(b, 50)
	lk := Lookups{"shipping": {Rows: map[string]string{"express": "express_dhl"}}}
	t := Template{ID: "tpl_bench", Version: 1, Format: FormatJSON, Body: benchIntakeTemplate}
	ctx := context.Background()
	out, err := e.Render(ctx, t, data, lk)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Render(ctx, t, data, lk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTextTemplate50Items(b *testing.B) {
	data := benchOrder(b, 50)
	funcs := template.FuncMap{
		"js": func(v any) (string, error) {
			bs, err := json.Marshal(v)
			return string(bs), err
		},
		"lookup": func(name string, v any) string {
			if s, ok := map[string]string{"express": "express_dhl"}[fmt.Sprint(v)]; ok {
				return s
			}
			return "normal"
		},
		"upper": func(s string) string { return string(bytes.ToUpper([]byte(s))) },
		"mul":   func(a float64, b int64) float64 { return a * float64(b) },
	}
	tpl := template.Must(template.New("t").Funcs(funcs).Parse(benchTextTemplate))
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, data); err != nil {
		b.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		b.Fatalf("invalid: %s", buf.String())
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := tpl.Execute(&buf, data); err != nil {
			b.Fatal(err)
		}
		if !json.Valid(buf.Bytes()) {
			b.Fatal("invalid")
		}
	}
}
