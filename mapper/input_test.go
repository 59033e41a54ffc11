package mapper

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseInputJSONNumbers(t *testing.T) {
	v, f, err := ParseInput("application/json; charset=utf-8",
		[]byte(`{"i": 2, "neg": -7, "f": 2.5, "whole": 2.0, "exp": 1e3, "big": 12345678901234567890, "list": [1, 1.5, "1"], "n": null, "b": true}`))
	if err != nil || f != FormatJSON {
		t.Fatalf("%v %v", f, err)
	}
	want := map[string]any{
		"i": int64(2), "neg": int64(-7), "f": 2.5, "whole": 2.0, "exp": 1000.0, "big": 12345678901234567890.0,
		"list": []any{int64(1), 1.5, "1"}, "n": nil, "b": true,
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v", v)
	}
	// And they render as they came in.
	out := mustRender(t, NewEngine(Options{}), FormatJSON, `[{{ i }}, {{ f }}, {{ list }}]`, v.(map[string]any))
	if out != `[2, 2.5, [1,1.5,"1"]]` {
		t.Errorf("render: %s", out)
	}
}

func TestParseInputFormatDetection(t *testing.T) {
	cases := []struct {
		ct, body string
		want     Format
	}{
		{"application/json", `{}`, FormatJSON},
		{"application/vnd.order+json", `[]`, FormatJSON},
		{"application/xml", `<a/>`, FormatXML},
		{"text/xml; charset=utf-8", `<a/>`, FormatXML},
		{"application/soap+xml", `<a/>`, FormatXML},
		{"", "  \n{\"a\": 1}", FormatJSON},
		{"", "\t[1]", FormatJSON},
		{"text/plain", " <a/>", FormatXML},
		{"application/octet-stream", "\xEF\xBB\xBF{\"a\": 1}", FormatJSON},
	}
	for _, c := range cases {
		_, f, err := ParseInput(c.ct, []byte(c.body))
		if err != nil || f != c.want {
			t.Errorf("%q %q: %v %v, want %v", c.ct, c.body, f, err, c.want)
		}
	}
	for _, body := range []string{"", "   ", "hello", "42"} {
		if _, _, err := ParseInput("", []byte(body)); err == nil {
			t.Errorf("%q accepted without a content type", body)
		}
	}
}

func TestParseInputXML(t *testing.T) {
	body := `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<ord:Order xmlns:ord="urn:x" id="17" ord:kind="rush">
  <Ref>ORD-1</Ref>
  <Note> spaced text </Note>
  <Customer vip="yes">Acme <b>&amp;</b> Sons</Customer>
  <Item sku="A"><Qty>2</Qty></Item>
  <Item sku="B"><Qty>3</Qty></Item>
  <Single><Qty>1</Qty></Single>
  <Empty/>
  <Script><![CDATA[if (a < b) {}]]></Script>
</ord:Order>`
	v, f, err := ParseInput("application/xml", []byte(body))
	if err != nil || f != FormatXML {
		t.Fatalf("%v %v", f, err)
	}
	want := map[string]any{"Order": map[string]any{
		"@id": "17", "@kind": "rush",
		"Ref":      "ORD-1",
		"Note":     "spaced text",
		"Customer": map[string]any{"@vip": "yes", "#text": "Acme  Sons", "b": "&"},
		"Item": []any{
			map[string]any{"@sku": "A", "Qty": "2"},
			map[string]any{"@sku": "B", "Qty": "3"},
		},
		"Single": map[string]any{"Qty": "1"},
		"Empty":  "",
		"Script": "if (a < b) {}",
	}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got  %#v\nwant %#v", v, want)
	}
}

func inputErr(t *testing.T, ct, body string) *InputError {
	t.Helper()
	_, _, err := ParseInput(ct, []byte(body))
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("%q: want *InputError, got %v", body, err)
	}
	return ie
}

func TestParseInputRefusals(t *testing.T) {
	lol := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>`
	if ie := inputErr(t, "application/xml", lol); !strings.Contains(ie.Message, "DOCTYPE") || ie.Line != 2 {
		t.Errorf("billion laughs: %+v", ie)
	}
	if ie := inputErr(t, "text/xml", `<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>`); !strings.Contains(ie.Message, "DOCTYPE") {
		t.Errorf("external DTD: %+v", ie)
	}
	if ie := inputErr(t, "application/xml", `<a/><b/>`); !strings.Contains(ie.Message, "more than one root") {
		t.Errorf("two roots: %+v", ie)
	}
	if ie := inputErr(t, "application/xml", `<a/>trailing`); !strings.Contains(ie.Message, "outside the root") {
		t.Errorf("trailing text: %+v", ie)
	}
	if ie := inputErr(t, "application/xml", "<a>\n  <b></c>\n</a>"); ie.Line != 2 {
		t.Errorf("mismatched tags: %+v", ie)
	}
	deepJSON := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	if ie := inputErr(t, "application/json", deepJSON); !strings.Contains(ie.Message, "64") || ie.Offset != 64 {
		t.Errorf("deep JSON: %+v", ie)
	}
	if _, _, err := ParseInput("application/json", []byte(strings.Repeat("[", 64)+strings.Repeat("]", 64))); err != nil {
		t.Errorf("64 levels must pass: %v", err)
	}
	// Brackets inside strings are not nesting.
	if _, _, err := ParseInput("application/json", []byte(`{"s": "`+strings.Repeat("[", 100)+`"}`)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	deepXML := strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65)
	if ie := inputErr(t, "application/xml", deepXML); !strings.Contains(ie.Message, "64") {
		t.Errorf("deep XML: %+v", ie)
	}
	if ie := inputErr(t, "application/json", "{\"a\": \"caf\xe9\"}"); !strings.Contains(ie.Message, "UTF-8") || ie.Offset != 10 {
		t.Errorf("invalid UTF-8: %+v", ie)
	}
	if ie := inputErr(t, "application/xml", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`); !strings.Contains(ie.Message, "UTF-8") {
		t.Errorf("declared Latin-1: %+v", ie)
	}
	if ie := inputErr(t, "application/xml", "<a>caf\xe9</a>"); !strings.Contains(ie.Message, "UTF-8") {
		t.Errorf("invalid UTF-8 in XML: %+v", ie)
	}
}

func TestParseInputMalformedJSONPosition(t *testing.T) {
	cases := []struct {
		body      string
		line, col int
	}{
		{"{\n  \"a\": 1,\n  \"b\" 2\n}", 3, 7},
		{"{\n  \"a\": 1,\n}", 3, 1},
		{`{"a": [1, 2}`, 1, 12},
		{"{\"a\": 1", 1, 8},
		{`{"a": 1} {"b": 2}`, 1, 10},
		{"{\"ø\": tru}", 1, 10},
	}
	for _, c := range cases {
		ie := inputErr(t, "application/json", c.body)
		if ie.Line != c.line || ie.Column != c.col {
			t.Errorf("%q: at %d:%d (%s), want %d:%d", c.body, ie.Line, ie.Column, ie.Message, c.line, c.col)
		}
	}
}

// ParseInputOrdered keeps the body's key order (JSON objects, XML elements:
// attributes, then children by first appearance, then #text) and is
// otherwise ParseInput: PlainValue of it is exactly what ParseInput returns.
func TestParseInputOrderedKeepsKeyOrder(t *testing.T) {
	cases := []struct {
		ct, body string
		path     []string
		keys     []string
	}{
		{"application/json", `{"z": 1, "a": {"y": null, "b": [{"k2": 1, "k1": 2}]}, "m": 3.0, "a2": "x", "z": 9}`, nil, []string{"z", "a", "m", "a2"}},
		{"application/json", `{"z": 1, "a": {"y": null, "b": 2}}`, []string{"a"}, []string{"y", "b"}},
		{"application/xml", `<o id="1" ver="2"><zeta>1</zeta><alpha>2</alpha><zeta>3</zeta><mid a="1">t</mid></o>`, []string{"o"}, []string{"@id", "@ver", "zeta", "alpha", "mid"}},
		{"application/xml", `<o><mid b="1" a="2">t</mid></o>`, []string{"o", "mid"}, []string{"@b", "@a", "#text"}},
	}
	for _, c := range cases {
		v, f, err := ParseInputOrdered(c.ct, []byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		plain, f2, err := ParseInput(c.ct, []byte(c.body))
		if err != nil || f != f2 || !reflect.DeepEqual(PlainValue(v), plain) {
			t.Errorf("%s: PlainValue(ordered) = %#v\nParseInput = %#v", c.body, PlainValue(v), plain)
		}
		for _, k := range c.path {
			o, ok := v.(*Object)
			if !ok {
				t.Fatalf("%s: %T is not an *Object", c.body, v)
			}
			v, _ = o.Get(k)
		}
		o, ok := v.(*Object)
		if !ok || !reflect.DeepEqual(o.Keys(), c.keys) || o.Len() != len(c.keys) {
			t.Errorf("%s at %v: keys %v, want %v", c.body, c.path, o.Keys(), c.keys)
		}
	}
	// A repeated key keeps its first place and its last value (as Python's json).
	v, _, _ := ParseInputOrdered("application/json", []byte(`{"z": 1, "a": 2, "z": 9}`))
	if z, _ := v.(*Object).Get("z"); z != int64(9) {
		t.Errorf("repeated key: z = %v", z)
	}
	if m, ok := AsMap(v); !ok || len(m) != 2 || m["a"] != int64(2) {
		t.Errorf("AsMap: %v %v", m, ok)
	}
}

// A template sees a body's mappings in the body's order, reads, warnings and
// strict mode work on them as on any mapping, and a template that changes
// one changes neither the parsed body nor the next render.
func TestOrderedBodyInTemplates(t *testing.T) {
	e := NewEngine(Options{})
	v, _, err := ParseInputOrdered("application/json", []byte(`{"customer": {"lastName": "L", "firstName": "Ada", "address": null}, "items": [{"sku": "b", "qty": 2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data := IntakeContext(v, nil, CustomerInfo{ID: "cus_1"}, testNow)
	body := `{% for k, v in customer.items() %}{{ k }}={{ v }};{% endfor %}|{{ body.customer.firstName }}|{{ customer.nope }}|{{ customer.address.city }}|{{ items[0] | tojson }}|{% set _ = customer.update({'x': 1}) %}{{ customer | length }}`
	for i := 0; i < 2; i++ { // the second render must not see the first one's update
		r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: body}, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := `lastName=L;firstName=Ada;address=;|Ada|||{"qty": 2, "sku": "b"}|4`; string(r.Output) != want {
			t.Errorf("render %d: %q\nwant %q", i, r.Output, want)
		}
		if len(r.Warnings) != 3 || !strings.Contains(r.Warnings[0].Message, "customer.nope is undefined") ||
			!strings.Contains(r.Warnings[1].Message, `the body's "customer" hides`) || !strings.Contains(r.Warnings[2].Message, "customer.address.city is undefined") {
			t.Errorf("warnings: %v", r.Warnings)
		}
	}
	if c, _ := v.(*Object).Get("customer"); c.(*Object).Len() != 3 {
		t.Errorf("the template changed the parsed body: %v", c.(*Object).Keys())
	}
	// JSON output writes a body mapping in its order; strict refuses a miss.
	out, err := e.Render(context.Background(), Template{Format: FormatJSON, Body: `{"c": {{ customer }}}`}, data, nil)
	if err != nil || string(out) != `{"c": {"lastName":"L","firstName":"Ada","address":null}}` {
		t.Errorf("json: %s %v", out, err)
	}
	_, err = e.Render(context.Background(), Template{Format: FormatText, Body: `{{ customer.nope }}`, Strict: true}, data, nil)
	var te *Error
	if !errors.As(err, &te) || !strings.Contains(te.Message, "customer.nope is undefined") {
		t.Errorf("strict: %v", err)
	}
}
