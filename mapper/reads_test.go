package mapper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func intakeData(t *testing.T, contentType string, body []byte) map[string]any {
	t.Helper()
	v, _, err := ParseInputOrdered(contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return IntakeContext(v, map[string][]string{"X-Shop": {"s1"}}, CustomerInfo{ID: "cus_1", Name: "Acme Prints", ReferenceID: "ACME"}, testNow)
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "samples", "orders", name))
	if err != nil {
		b, err = os.ReadFile(filepath.Join("/work/shared/samples/orders", name))
	}
	if err != nil {
		t.Skipf("sample %s not available: %v", name, err)
	}
	return b
}

func TestContextRuleBodyWins(t *testing.T) {
	e := NewEngine(Options{})
	data := intakeData(t, "application/json", []byte(`{"customer": {"firstName": "Ann"}, "now": "body-now", "ref": 7}`))
	tpl := `{{ customer.firstName }}|{{ orderintake.customer.id }}|{{ orderintake.customer.name }}|{{ now }}|{{ orderintake.now }}|{{ headers["x-shop"] }}|{{ orderintake.headers["x-shop"] }}|{{ orderintake.body.ref }}|{{ body.customer.firstName }}`
	r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: tpl}, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Ann|cus_1|Acme Prints|body-now|2026-11-28T12:00:00Z|s1|s1|7|Ann"
	if string(r.Output) != want {
		t.Errorf("output %q, want %q", r.Output, want)
	}
	// customer and now are shadowed and read: one warning each, at the first read.
	want2 := []Warning{
		{1, 4, `the body's "customer" hides orderintake.customer; use orderintake.customer to reach ours`},
		{1, 91, `the body's "now" hides orderintake.now; use orderintake.now to reach ours`},
	}
	if fmt.Sprint(r.Warnings) != fmt.Sprint(want2) {
		t.Errorf("warnings\n%v\nwant\n%v", r.Warnings, want2)
	}

	// Without a body key of that name, ours stays under its plain name too, and nothing is said.
	data = intakeData(t, "application/json", []byte(`{"orderReferenceId": "R1"}`))
	r, err = e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: `{{ customer.id }}/{{ orderintake.customer.id }}/{{ orderReferenceId }}`}, data, nil)
	if err != nil || string(r.Output) != "cus_1/cus_1/R1" || len(r.Warnings) != 0 {
		t.Errorf("got %q %v %v", r.Output, r.Warnings, err)
	}
}

func TestWarningsUndefinedReads(t *testing.T) {
	e := NewEngine(Options{})
	data := intakeData(t, "application/json", []byte(`{"customer": {"firstName": "Ann", "note": null}, "items": [{"sku": "A"}, {"sku": "B"}]}`))
	tpl := "Hi {{ customer.firstNme }}\n" + // line 1: undefined attribute
		"{% if vip %}VIP{% endif %}\n" + // line 2: undefined name, tested
		"{% for i in items %}{{ i.qty }}{% endfor %}\n" + // line 3: once, though twice run
		"{{ customer.note }}{{ missing | default('x') }}{% if gone is defined %}{% endif %}\n" + // line 4: none and quiet: nothing
		`{{ customer["last"] }}{{ items[5] }}{{ customer.firstName }}` // line 5
	r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: tpl}, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{
		{1, 7, `customer.firstNme is undefined (it printed or tested as empty)`},
		{1, 7, `the body's "customer" hides orderintake.customer; use orderintake.customer to reach ours`},
		{2, 7, `vip is undefined (it printed or tested as empty)`},
		{3, 24, `i.qty is undefined (it printed or tested as empty)`},
		{5, 4, `customer["last"] is undefined (it printed or tested as empty)`},
		{5, 26, `items[5] is undefined (it printed or tested as empty)`},
	}
	if fmt.Sprint(r.Warnings) != fmt.Sprint(want) {
		t.Errorf("warnings\n%v\nwant\n%v", r.Warnings, want)
	}
	if !strings.HasPrefix(string(r.Output), "Hi \n\n\n") {
		t.Errorf("output %q", r.Output)
	}
	// Deterministic: the same render answers the same warnings.
	r2, _ := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: tpl}, data, nil)
	if fmt.Sprint(r2.Warnings) != fmt.Sprint(r.Warnings) {
		t.Errorf("second render differs: %v", r2.Warnings)
	}
	// JSON keeps working: warnings serialize as {line, column, message}.
	b, _ := json.Marshal(r.Warnings[0])
	if string(b) != `{"line":1,"column":7,"message":"customer.firstNme is undefined (it printed or tested as empty)"}` {
		t.Errorf("json %s", b)
	}
}

func TestWarningsBounded(t *testing.T) {
	e := NewEngine(Options{})
	var b strings.Builder
	for i := 0; i < 120; i++ {
		fmt.Fprintf(&b, "{{ v%d }}\n", i)
	}
	r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: b.String()}, map[string]any{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 51 || r.Warnings[0].Line != 1 || r.Warnings[49].Line != 50 || r.Warnings[50].Message != "and 70 more warnings" {
		t.Errorf("got %d warnings, first %v, last %v", len(r.Warnings), r.Warnings[0], r.Warnings[len(r.Warnings)-1])
	}
}

func TestStrictTemplate(t *testing.T) {
	e := NewEngine(Options{})
	data := intakeData(t, "application/json", []byte(`{"customer": {"firstName": "Ann", "note": null}}`))
	cases := []struct {
		body      string
		line, col int
		name      string
	}{
		{"{\n  \"n\": \"{{ customer.firstNme }}\"\n}", 2, 12, "customer.firstNme"},
		{`{% if vip %}x{% endif %}`, 1, 7, "vip"},
		{`{{ customer["x"] | upper }}`, 1, 4, `customer["x"]`},
		{"ok\n{% for i in nothing %}{% endfor %}", 2, 13, "nothing"},
	}
	for _, c := range cases {
		format := FormatText
		if strings.HasPrefix(c.body, "{\n") {
			format = FormatJSON
		}
		_, err := e.RenderDetailed(context.Background(), Template{Format: format, Body: c.body, Strict: true}, data, nil)
		var te *Error
		if !errors.As(err, &te) || te.Kind != ErrRuntime || te.Line != c.line || te.Column != c.col ||
			!strings.Contains(te.Message, c.name+" is undefined") {
			t.Errorf("%q: got %v (%+v), want %s at %d:%d", c.body, err, te, c.name, c.line, c.col)
		}
		// The same template, not strict, renders (with a warning).
		if format == FormatText {
			if r, err := e.RenderDetailed(context.Background(), Template{Format: format, Body: c.body}, data, nil); err != nil || len(r.Warnings) == 0 {
				t.Errorf("%q lenient: %v %v", c.body, r.Warnings, err)
			}
		}
	}
	// Defined values, none, default and `is defined` are fine in a strict template.
	ok := `{{ customer.firstName }}{{ customer.note }}{{ x | default("d") }}{% if y is defined %}{% endif %}{% set z = 1 %}{{ z }}{% for k in [1] %}{{ loop.index }}{% endfor %}`
	r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: ok, Strict: true}, data, nil)
	if err != nil || string(r.Output) != "Annd11" {
		t.Errorf("strict ok: %q %v", r.Output, err)
	}
}

func TestReadsKeepGonjaSemantics(t *testing.T) {
	e := NewEngine(Options{})
	data := map[string]any{"s": " Ab ", "m": map[string]any{"k": "v", "n": int64(2)}, "l": []any{int64(1), int64(2), int64(3)}}
	cases := map[string]string{
		`{{ s.strip().lower() }}`:                                                                 "ab",
		`{{ m.k.upper() }}{{ m["k"] }}{{ m.n + 1 }}`:                                              "Vv3",
		`{{ l[0] }}{{ l.1 }}{{ l[-1] }}{{ l[1:] }}`:                                               "123[2,3]",
		`{% set ns = namespace(a=1) %}{% set ns.a = 5 %}{{ ns.a }}`:                               "5",
		`{% macro f(x, y=m.k) %}{{ x }}{{ y }}{% endmacro %}{{ f(1) }}`:                           "1v",
		`{% with q = m.n %}{{ q }}{% endwith %}`:                                                  "2",
		`{{ m.items() | list | length }}`:                                                         "2",
		`{{ "x" if m.k else "y" }}`:                                                               "x",
		`{% for k, v in m | dictsort %}{{ k }}={{ v }};{% endfor %}`:                              "k=v;n=2;",
		`{% set x = [] %}{% set _ = x.append(1) %}{% set _ = x.append(m.n) %}{{ x | join(",") }}`: "1,2",
	}
	for body, want := range cases {
		r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: body, Strict: true}, data, nil)
		if err != nil || string(r.Output) != want || len(r.Warnings) != 0 {
			t.Errorf("%s: got %q %v %v, want %q", body, r.Output, r.Warnings, err, want)
		}
	}
	// Through a missing parent: an error naming the read and the missing part.
	_, err := e.Render(context.Background(), Template{Format: FormatText, Body: "\n  {{ m.x.y }}"}, data, nil)
	var te *Error
	if !errors.As(err, &te) || te.Line != 2 || te.Column != 6 || !strings.Contains(te.Message, "cannot read m.x.y: m.x is undefined") {
		t.Errorf("through missing parent: %v", err)
	}
	// Jinja2: an attribute or item of none is undefined: empty, with a
	// warning; strict: an error; a read on past it: an error in both.
	none := map[string]any{"m": data["m"], "n": map[string]any{"a": nil}}
	r, err := e.RenderDetailed(context.Background(), Template{Format: FormatText, Body: `{{ m.k }}{{ n.a["b"] }}[{{ n.a.c }}]`}, none, nil)
	if err != nil || string(r.Output) != "v[]" || len(r.Warnings) != 2 ||
		r.Warnings[0] != (Warning{Line: 1, Column: 13, Message: `n.a["b"] is undefined (it printed or tested as empty)`}) {
		t.Errorf("a none parent: %q %v %v", r.Output, r.Warnings, err)
	}
	_, err = e.Render(context.Background(), Template{Format: FormatText, Body: `{{ m.k }}{{ n.a["b"] }}`, Strict: true}, none, nil)
	if !errors.As(err, &te) || te.Column != 13 || !strings.Contains(te.Message, `n.a["b"] is undefined`) {
		t.Errorf("a none parent, strict: %v", err)
	}
	_, err = e.Render(context.Background(), Template{Format: FormatText, Body: `{{ n.a.b.c }}`}, none, nil)
	if !errors.As(err, &te) || te.Message != `cannot read n.a.b.c: n.a.b is undefined` {
		t.Errorf("through a none parent: %v", err)
	}
}

func TestReferenceExpressionForms(t *testing.T) {
	e := NewEngine(Options{})
	data := intakeData(t, "application/json", []byte(`{"order": {"ref": "R-9", "empty": "", "none": null}, "n": 12}`))
	for _, expr := range []string{`order.ref`, `{{ order.ref }}`, `  {{order.ref}}  `, `order["ref"]`} {
		if err := e.CheckExpression(expr); err != nil {
			t.Errorf("CheckExpression(%q): %v", expr, err)
		}
		v, err := e.EvalExpression(context.Background(), expr, data)
		if err != nil || v.Text != "R-9" || v.Missing != "" {
			t.Errorf("EvalExpression(%q) = %+v, %v", expr, v, err)
		}
	}
	missing := map[string]string{
		`order.nope`:       "order.nope is undefined",
		`{{ nothing }}`:    "nothing is undefined",
		`order.empty`:      "empty value",
		`{{ order.none }}`: "empty value",
	}
	for expr, why := range missing {
		v, err := e.EvalExpression(context.Background(), expr, data)
		if err != nil || v.Text != "" || !strings.Contains(v.Missing, why) {
			t.Errorf("EvalExpression(%q) = %+v, %v; want missing %q", expr, v, err, why)
		}
	}
	if _, err := e.EvalExpression(context.Background(), `nope.ref`, data); err == nil || !strings.Contains(err.Error(), "cannot read nope.ref: nope is undefined") {
		t.Errorf("through a missing parent: %v", err)
	}
	// Syntax errors, located in the text as written.
	bad := []struct {
		expr      string
		line, col int
	}{
		{`{{ order. }}`, 1, 10},
		{`order.ref +`, 1, 12},
		{"{{ order.ref }}{{ n }}", 0, 0},
		{"{% if x %}y{% endif %}", 0, 0},
		{"", 0, 0},
	}
	for _, b := range bad {
		err := e.CheckExpression(b.expr)
		var te *Error
		if !errors.As(err, &te) || te.Kind != ErrSyntax || (b.line > 0 && (te.Line != b.line || te.Column < b.col-1 || te.Column > b.col+1)) {
			t.Errorf("CheckExpression(%q) = %v (%+v); want syntax error near %d:%d", b.expr, err, te, b.line, b.col)
		}
	}
}

// The three sample orders merchants really send, through templates that read
// their own fields, ours, and one typo each.
func TestSampleOrders(t *testing.T) {
	e := NewEngine(Options{})
	cases := []struct {
		file, ctype, tpl, want string
		warn                   []string
	}{
		{"shop-style.json", "application/json",
			`{"name": "{{ customer.first_name }} {{ customer.last_name }}", "ref": {{ name }}, "by": {{ orderintake.customer.id }}, "qty": {{ line_items[0].quantity }}, "x": "{{ customer.firstName }}"}`,
			`{"name": "Ann O'Neil", "ref": "#1047", "by": "cus_1", "qty": 2, "x": ""}`,
			[]string{`the body's "customer" hides orderintake.customer`, "customer.firstName is undefined"}},
		{"storefront-camel.json", "application/json",
			`{"to": "{{ customer.firstName }} {{ shippingAddress.companyName }}", "ref": {{ orderReferenceId }}, "n": {{ items | length }}, "who": {{ orderintake.customer.name }}, "h": {{ headers["x-shop"] }}}`,
			`{"to": "José Núñez & Hijos <Studio>", "ref": "WEB-2026-000318", "n": 2, "who": "Acme Prints", "h": "s1"}`,
			[]string{`the body's "customer" hides orderintake.customer`}},
		{"erp-order.xml", "application/xml",
			`<o ref="{{ PurchaseOrder.Header.OrderNumber }}" by="{{ customer.referenceId }}">{% for l in PurchaseOrder.Lines.Line %}<l sku="{{ l.Sku }}" q="{{ l.Qty["#text"] }}" u="{{ l.Qty["@unit"] }}"/>{% endfor %}<c>{{ PurchaseOrder.Header.Coment }}</c></o>`,
			`<o ref="PO-77310" by="ACME"><l sku="FLYER-A5-135" q="2500" u="pcs"/><l sku="ROLLUP-85x200" q="1" u="pcs"/><c></c></o>`,
			[]string{"PurchaseOrder.Header.Coment is undefined"}},
	}
	for _, c := range cases {
		data := intakeData(t, c.ctype, sample(t, c.file))
		format := FormatJSON
		if c.ctype == "application/xml" {
			format = FormatXML
		}
		r, err := e.RenderDetailed(context.Background(), Template{Format: format, Body: c.tpl}, data, nil)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if string(r.Output) != c.want {
			t.Errorf("%s: output\n%s\nwant\n%s", c.file, r.Output, c.want)
		}
		if len(r.Warnings) != len(c.warn) {
			t.Errorf("%s: warnings %v, want %v", c.file, r.Warnings, c.warn)
			continue
		}
		for i, w := range c.warn {
			if !strings.Contains(r.Warnings[i].Message, w) || r.Warnings[i].Line != 1 {
				t.Errorf("%s: warning %d = %v, want %q", c.file, i, r.Warnings[i], w)
			}
		}
		// Strict: the typo is an error naming it; the good templates pass.
		_, err = e.RenderDetailed(context.Background(), Template{Format: format, Body: c.tpl, Strict: true}, data, nil)
		undefinedWarned := strings.Contains(strings.Join(c.warn, "|"), "undefined")
		if undefinedWarned != (err != nil) {
			t.Errorf("%s strict: %v", c.file, err)
		}
	}
}
