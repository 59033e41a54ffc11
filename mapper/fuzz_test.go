package mapper

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var fuzzEngine = NewEngine(Options{Timeout: 100 * time.Millisecond, MaxOutputBytes: 64 << 10, CacheSize: 64})

// FuzzRender: any template text against any input must give output or an
// *Error, never a panic or a hang; successful json/xml output is well-formed.
func FuzzRender(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/golden/*/template")
	for _, p := range seeds {
		b, _ := os.ReadFile(p)
		f.Add(string(b), `{"orderId": "o1", "items": [{"fulfillments": [{"trackingCode": "T\"1"}]}], "n": 2, "f": 1.5}`)
	}
	f.Add(`{"a": "{{ a }}", "b": {{ b }}}`, `{"a": "x\"y", "b": [1, {"c": null}]}`)
	f.Add(`{% for i in range(n) %}{{ i * 2 / 3 }}{% endfor %}`, `{"n": 5}`)
	f.Add(`{{ lookups({"carrier": a}, strict=True) }}`, `{"a": "dhl"}`)
	f.Add(`{% macro m(x) %}{{ x ~ m(x) }}{% endmacro %}{{ m(1) }}`, `{}`)
	f.Add(`<r a="{{ a }}">{{ b | tojson }}</r>`, `{"a": "<&>", "b": true}`)
	f.Add(`##{{ created | date("%Y") }} {{ 1 % 0 }}`, `{"created": "2025-01-01T00:00:00Z"}`)
	lk := Lookups{"carrier": {Default: "X", Rows: map[string]string{"dhl": "DHL"}}}
	f.Fuzz(func(t *testing.T, body, input string) {
		data := map[string]any{}
		if v, _, err := ParseInputOrdered("application/json", []byte(input)); err == nil {
			if m, ok := AsMap(v); ok {
				data = m
			}
		}
		for _, format := range []Format{FormatJSON, FormatXML, FormatText} {
			out, err := fuzzEngine.Render(context.Background(), Template{Format: format, Body: body}, data, lk)
			if err != nil {
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("%s: error %T %v", format, err, err)
				}
				switch te.Kind {
				case ErrSyntax, ErrRuntime, ErrLookup, ErrOutput, ErrLimit:
				default:
					t.Fatalf("kind %q", te.Kind)
				}
				if te.Kind == ErrSyntax && format != FormatJSON {
					break // same parse for every format
				}
				continue
			}
			switch format {
			case FormatJSON:
				if !json.Valid(out) {
					t.Fatalf("invalid JSON accepted: %q", out)
				}
			case FormatXML:
				d := xml.NewDecoder(bytes.NewReader(out))
				for {
					if _, err := d.Token(); err == io.EOF {
						break
					} else if err != nil {
						t.Fatalf("invalid XML accepted: %q: %v", out, err)
					}
				}
			}
		}
		if _, err := fuzzEngine.EvalString(context.Background(), body, data); err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("EvalString error %T %v", err, err)
			}
		}
	})
}

// FuzzParseInput: any body gives a value or an *InputError, never a panic.
func FuzzParseInput(f *testing.F) {
	f.Add(0, []byte(`{"a": [1, 2.5, {"b": null}]}`))
	f.Add(1, []byte(`<a x="1"><b>t</b><b>u</b>text</a>`))
	f.Add(2, []byte(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`))
	f.Add(0, []byte("{\"a\": \"\xff\"}"))
	f.Add(2, []byte(` [[[[[[[[]]]]]]]]`))
	f.Fuzz(func(t *testing.T, kind int, body []byte) {
		ct := []string{"application/json", "application/xml", ""}[uint(kind)%3]
		v, format, err := ParseInput(ct, body)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v", err, err)
			}
			if ie.Offset < 0 || ie.Offset > int64(len(body)) {
				t.Fatalf("offset %d outside body of %d", ie.Offset, len(body))
			}
			return
		}
		if format != FormatJSON && format != FormatXML {
			t.Fatalf("format %q", format)
		}
		if format == FormatXML {
			m, ok := v.(map[string]any)
			if !ok || len(m) != 1 {
				t.Fatalf("XML must give one root key: %#v", v)
			}
		}
	})
}
