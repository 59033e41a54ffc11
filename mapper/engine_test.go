package mapper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nikolalohinski/gonja/v2/builtins"
)

func render(t *testing.T, e *Engine, format Format, body string, data map[string]any, lk Lookups) (string, *Error) {
	t.Helper()
	out, err := e.Render(context.Background(), Template{Format: format, Body: body}, data, lk)
	if err == nil {
		return string(out), nil
	}
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("error is %T, not *Error: %v", err, err)
	}
	return "", te
}

func mustRender(t *testing.T, e *Engine, format Format, body string, data map[string]any) string {
	t.Helper()
	out, err := render(t, e, format, body, data, nil)
	if err != nil {
		t.Fatalf("render %q: %v\n%s", body, err, err.Excerpt)
	}
	return out
}

func TestJSONValuesInAndOutOfStrings(t *testing.T) {
	e := NewEngine(Options{})
	data := map[string]any{
		"s": "say \"hi\"\\\n\tbye ✓", "n": int64(42), "f": 1.5, "w": 3.0, "b": false,
		"l": []any{int64(1), "x"}, "m": map[string]any{"k": true},
	}
	cases := []struct{ body, want string }{
		{`{"v": "{{ s }}"}`, `{"v": "say \"hi\"\\\n\tbye ✓"}`},
		{`{"v": {{ s }}}`, `{"v": "say \"hi\"\\\n\tbye ✓"}`},
		{`{"v": {{ n }}, "w": {{ w }}, "f": {{ f }}}`, `{"v": 42, "w": 3.0, "f": 1.5}`},
		{`{"v": "{{ n }}-{{ b }}"}`, `{"v": "42-false"}`},
		{`{"v": {{ b }}, "u": {{ undefined }}}`, `{"v": false, "u": null}`},
		{`{"v": {{ l }}, "m": {{ m }}}`, `{"v": [1,"x"], "m": {"k":true}}`},
		// An escaped quote in the text does not end the string.
		{`{"v": "a\"{{ s }}"}`, `{"v": "a\"say \"hi\"\\\n\tbye ✓"}`},
		// Quotes inside comments and tags do not count.
		{`{# " #}{"v": {{ n }}{{ "\"" if false }}}`, `{"v": 42}`},
		// ##{{ is {{.
		{`{"v": "##{{ n }}", "w": ##{{ n }}}`, `{"v": "42", "w": 42}`},
		// A key written by a tag.
		{`{ "{{ s }}": 1 }`, `{ "say \"hi\"\\\n\tbye ✓": 1 }`},
		{`{"v": {{ l | tojson }}, "raw": {{ "[1, 2]" | safe }}}`, `{"v": [1, "x"], "raw": [1, 2]}`},
	}
	for _, c := range cases {
		if got := mustRender(t, e, FormatJSON, c.body, data); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.body, got, c.want)
		}
	}
}

func TestTextAndXMLValues(t *testing.T) {
	e := NewEngine(Options{})
	data := map[string]any{"b": true, "i": int64(7), "f": 2.0, "s": `<a href="x">&`}
	if got := mustRender(t, e, FormatText, `{{ b }} {{ i }} {{ f }} {{ none }}|{{ s }}`, data); got != `true 7 2.0 |<a href="x">&` {
		t.Errorf("text: %q", got)
	}
	if got := mustRender(t, e, FormatXML, `<r a="{{ s }}">{{ s }} {{ b }}</r>`, data); got != `<r a="&lt;a href=&quot;x&quot;&gt;&amp;">&lt;a href=&quot;x&quot;&gt;&amp; true</r>` {
		t.Errorf("xml: %q", got)
	}
	loops := `{% for i in [1, 2, 3, 4] %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{{ "," if not loop.last }}{% endfor %}`
	if got := mustRender(t, e, FormatText, loops, nil); got != "1,3," {
		t.Errorf("break/continue: %q", got)
	}
	// Macro output is safe: it is written as XML, not escaped again.
	body := `{% macro item(x) %}<item>{{ x }}</item>{% endmacro %}<r>{{ item(s) }}</r>`
	if got := mustRender(t, e, FormatXML, body, data); got != `<r><item>&lt;a href=&quot;x&quot;&gt;&amp;</item></r>` {
		t.Errorf("xml macro: %q", got)
	}
}

// Each attack must end in a clean *Error well within the render timeout and
// leave no goroutine behind.
func TestAttacks(t *testing.T) {
	e := NewEngine(Options{})
	before := runtime.NumGoroutine()
	attacks := []struct {
		name, body string
		kind       ErrorKind
	}{
		{"include from disk", `{% include "/etc/passwd" %}`, ErrSyntax},
		{"include relative", `{% include "../../../../etc/passwd" ignore missing %}`, ErrSyntax},
		{"include by variable", `{% set f = "/etc/passwd" %}{% include f %}`, ErrSyntax},
		{"import", `{% import "/etc/passwd" as p %}`, ErrSyntax},
		{"from import", `{% from "/etc/hosts" import x %}`, ErrSyntax},
		{"extends", `{% extends "/etc/passwd" %}`, ErrSyntax},
		{"modulo by zero", `{{ 1 % 0 }}`, ErrRuntime},
		{"division by zero", `{{ 1 / 0 }}`, ErrRuntime},
		{"floor division by zero", `{{ 7 // 0.0 }}`, ErrRuntime},
		{"huge range", `{% for i in range(10**9) %}{% endfor %}`, ErrLimit},
		{"huge range length", `{{ range(1000000000) | length }}`, ErrLimit},
		{"nested big ranges", `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, ErrLimit},
		{"string repeat bomb", `{{ "a" * 100000000 }}`, ErrLimit},
		{"repeated repeat", `{{ ("a" * 1000000) * 1000 }}`, ErrLimit},
		{"doubling", `{% set ns = namespace(s="a" * 1000) %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}`, ErrLimit},
		{"list bomb", `{{ [1] * 1000000000 }}`, ErrLimit},
		{"join bomb", `{{ (["a" * 100000] * 100000) | join("") }}`, ErrLimit},
		{"replace bomb", `{{ ("a" * 100000) | replace("", "bbbbbbbbbb") }}`, ErrLimit},
		{"center bomb", `{{ "x" | center(1000000000) }}`, ErrLimit},
		{"ljust bomb", `{{ "x".ljust(1000000000) }}`, ErrLimit},
		{"format width bomb", `{{ "{:>999999999}".format(1) }}`, ErrLimit},
		{"indent bomb", `{{ ("x\n" * 500000) | indent(1000) }}`, ErrLimit},
		{"deep macro recursion", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, ErrLimit},
		{"recursion through set", `{% macro f() %}{% set x = f() %}{% endmacro %}{{ f() }}`, ErrLimit},
		{"recursion through call", `{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}`, ErrLimit},
		{"recursive loop", `{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}`, ErrLimit},
		{"macro output bomb", `{% macro m() %}{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endmacro %}{% set l = [] %}{% for i in range(1000) %}{% do l.append(m()) %}{% endfor %}`, ErrLimit},
		{"output too large", `{% for i in range(100000) %}{{ "x" * 100 }}{% endfor %}`, ErrLimit},
		{"deep brackets", `{{ ` + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + ` }}`, ErrSyntax},
		{"deep attribute chain", `{{ x` + strings.Repeat(".x", 50000) + ` }}`, ErrSyntax},
		{"deep blocks", strings.Repeat(`{% if true %}`, 5000) + strings.Repeat(`{% endif %}`, 5000), ErrSyntax},
		{"huge template", strings.Repeat("x", 300<<10), ErrSyntax},
		{"panic inside gonja", `{{ "abc".center(5, "") }}`, ErrRuntime},
		{"panic in gonja's parser", `{% raw %}{% endraw %}`, ErrSyntax},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			start := time.Now()
			out, err := render(t, e, FormatText, a.body, map[string]any{"x": "a"}, nil)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("rendered %d bytes, want a %s error", len(out), a.kind)
			}
			if err.Kind != a.kind {
				t.Errorf("kind %s (%v), want %s", err.Kind, err, a.kind)
			}
			// The 2 s render timeout is the last line of defence; on a loaded
			// machine it may be what ends a case, so allow scheduling slack.
			if elapsed > 2*time.Second+250*time.Millisecond {
				t.Errorf("took %v", elapsed)
			}
			if len(err.Message) > 400 || strings.Contains(err.Message, a.body) && len(a.body) > 40 {
				t.Errorf("message echoes the template or is too long: %q", err.Message)
			}
			t.Logf("%v (%v)", err, elapsed)
		})
	}
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeoutStopsRender(t *testing.T) {
	e := NewEngine(Options{Timeout: 30 * time.Millisecond, MaxOutputBytes: 64 << 20})
	before := runtime.NumGoroutine()
	start := time.Now()
	_, err := render(t, e, FormatText, `{% for i in range(100000) %}{% for j in range(9) %}{{ i }}{{ j }}{% endfor %}{% endfor %}`, nil, nil)
	if err == nil || err.Kind != ErrLimit || !strings.Contains(err.Message, "longer than") {
		t.Fatalf("want timeout, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v", d)
	}
	waitGoroutines(t, before) // the abandoned render stops at its next tag
}

func TestContextCancelled(t *testing.T) {
	e := NewEngine(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Render(ctx, Template{Format: FormatText, Body: `{% for i in range(100000) %}{{ i }}{% endfor %}`}, nil, nil)
	var te *Error
	if !errors.As(err, &te) || te.Kind != ErrLimit || !errors.Is(err, context.Canceled) {
		t.Fatalf("want cancelled *Error wrapping context.Canceled, got %v", err)
	}
}

func TestSyntaxErrorsAreLocatedAndShort(t *testing.T) {
	e := NewEngine(Options{})
	body := strings.Repeat("line of text\n", 500) + `  {{ order.id | }}` + strings.Repeat("\nmore", 500)
	err := e.Check(Template{Format: FormatText, Body: body})
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("want *Error, got %v", err)
	}
	if te.Kind != ErrSyntax || te.Where != "template" || te.Line != 501 || te.Column != 17 {
		t.Errorf("got %s at %s %d:%d (%s)", te.Kind, te.Where, te.Line, te.Column, te.Message)
	}
	if want := "  {{ order.id | }}\n                ^"; te.Excerpt != want {
		t.Errorf("excerpt %q, want %q", te.Excerpt, want)
	}
	if strings.Contains(te.Error(), "line of text") || len(te.Error()) > 300 {
		t.Errorf("error echoes the template: %q", te.Error())
	}
	if err := e.Check(Template{Format: FormatJSON, Body: `{"a": {{ a }}}`}); err != nil {
		t.Errorf("valid template: %v", err)
	}
	if err := e.Check(Template{Format: "yaml", Body: `x`}); err == nil {
		t.Error("unknown format accepted")
	}
	// Excerpts of very long lines are windowed around the column.
	long := strings.Repeat("a", 1000) + "{{ x + }}" + strings.Repeat("b", 1000)
	errors.As(e.Check(Template{Format: FormatText, Body: long}), &te)
	lines := strings.Split(te.Excerpt, "\n")
	if len([]rune(lines[0])) > 200 || !strings.Contains(lines[0], "{{ x + }}") || lines[1][len(lines[1])-1] != '^' {
		t.Errorf("long-line excerpt %q", te.Excerpt)
	}
}

func TestLookups(t *testing.T) {
	e := NewEngine(Options{})
	lk := Lookups{
		"carrier": {Default: "OTHER", Rows: map[string]string{"dhl": "DHL Express"}},
		"size":    {Rows: map[string]string{"A4": "210x297"}},
	}
	cases := []struct {
		body, want string
		kind       ErrorKind
	}{
		{`{{ lookups({"carrier": "dhl"}) }}`, "DHL Express", ""},
		{`{{ lookups({"carrier": "ups"}) }}`, "OTHER", ""},
		{`{{ lookups({"size": "A3"}) }}`, "", ""},
		{`{{ lookups({"size": "A3"}, default="n/a") }}`, "n/a", ""},
		{`{{ lookups({"size": "A3"}, False, "pos") }}`, "pos", ""},
		{`{{ lookups({"size": "A3", "carrier": "dhl"}) }}`, "DHL Express", ""},
		{`{{ lookups({"size": "A4"}, strict=True) }}`, "210x297", ""},
		{`{{ lookups({"carrier": "ups"}, strict=True) }}`, "", ErrLookup},
		{`{{ lookups({"nope": "x"}) }}`, "", ErrLookup},
		{`{{ lookups("carrier") }}`, "", ErrRuntime},
	}
	for _, c := range cases {
		out, err := render(t, e, FormatText, c.body, nil, lk)
		switch {
		case c.kind == "" && err != nil:
			t.Errorf("%s: %v", c.body, err)
		case c.kind == "" && out != c.want:
			t.Errorf("%s = %q, want %q", c.body, out, c.want)
		case c.kind != "" && (err == nil || err.Kind != c.kind):
			t.Errorf("%s: got %q, %v; want %s error", c.body, out, err, c.kind)
		}
	}
	_, err := render(t, e, FormatText, `{{ lookups({"carrier": "ups"}, strict=True) }}`, nil, lk)
	if err == nil || !strings.Contains(err.Message, `"carrier"`) || !strings.Contains(err.Message, `"ups"`) {
		t.Errorf("strict error must name lookup and value: %v", err)
	}
}

func TestEvalString(t *testing.T) {
	e := NewEngine(Options{})
	data := map[string]any{
		"orderReferenceId": "ORD-1",
		"n":                int64(42),
		"flag":             true,
		"body":             map[string]any{"order": map[string]any{"ref": "R-9"}},
		"nothing":          nil,
	}
	cases := map[string]string{
		`orderReferenceId`:           "ORD-1",
		`body.order["ref"]`:          "R-9",
		`body.order.ref | lower`:     "r-9",
		`n`:                          "42",
		`flag`:                       "true",
		`missing`:                    "",
		`nothing`:                    "",
		`body.missing.ref`:           "",
		`body.order.ref ~ "-" ~ n`:   "R-9-42",
		`"x" if flag else "y"`:       "x",
		`  orderReferenceId  `:       "ORD-1",
		`body["order"]["ref"] + "!"`: "R-9!",
	}
	for expr, want := range cases {
		got, err := e.EvalString(context.Background(), expr, data)
		if err != nil || got != want {
			t.Errorf("EvalString(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	for _, expr := range []string{`order.id +`, `a }}{{ b`, `x %}{% if 1`, ``} {
		_, err := e.EvalString(context.Background(), expr, data)
		var te *Error
		if !errors.As(err, &te) || te.Kind != ErrSyntax {
			t.Errorf("EvalString(%q): want syntax error, got %v", expr, err)
		}
	}
	_, err := e.EvalString(context.Background(), `n +`, data)
	var te *Error
	if errors.As(err, &te) && (te.Line != 1 || te.Column < 3 || te.Column > 4) {
		t.Errorf("column refers to the expression: %d:%d %q", te.Line, te.Column, te.Excerpt)
	}
}

func TestCacheByIDAndVersion(t *testing.T) {
	e := NewEngine(Options{CacheSize: 2})
	ctx := context.Background()
	r := func(id string, v int, body string) string {
		out, err := e.Render(ctx, Template{ID: id, Version: v, Format: FormatText, Body: body}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if r("t1", 1, "one") != "one" || r("t1", 1, "changed") != "one" {
		t.Error("(id, version) must be served from the cache")
	}
	if r("t1", 2, "two") != "two" {
		t.Error("a new version must compile anew")
	}
	r("t2", 1, "x")
	r("t3", 1, "y") // evicts t1 v1 (least recently used)
	if r("t1", 1, "again") != "again" {
		t.Error("least recently used entry should have been evicted")
	}
	e.mu.Lock()
	n := e.lru.Len()
	e.mu.Unlock()
	if n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
}

func TestConcurrentRenders(t *testing.T) {
	e := NewEngine(Options{})
	body := readFile(t, "testdata/golden/seed_fixed_two_fulfillments/template")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				ev := Events[(g+i)%len(Events)]
				data, _ := SamplePostbackContext(ev)
				out, err := e.Render(context.Background(), Template{ID: "fixed", Version: 1, Format: FormatJSON, Body: body}, data, nil)
				if err != nil {
					errs <- err
					return
				}
				var v map[string]any
				if err := json.Unmarshal(out, &v); err != nil || v["status"] != ev {
					errs <- fmt.Errorf("%s: %s", ev, out)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSamples(t *testing.T) {
	keys := []string{"event", "eventId", "orderId", "orderReferenceId", "printerOrderId", "customerId", "created", "fulfillmentStatus",
		"message", "trackingCode", "trackingUrl", "carrierName", "items", "order"}
	e := NewEngine(Options{})
	seed := readFile(t, "testdata/golden/seed_shipped_one_fulfillment/template")
	fixed := readFile(t, "testdata/golden/seed_fixed_two_fulfillments/template")
	for _, ev := range Events {
		data, ok := SamplePostbackContext(ev)
		if !ok || len(data) != len(keys) {
			t.Fatalf("%s: sample has %d keys", ev, len(data))
		}
		for _, k := range keys {
			if _, ok := data[k]; !ok {
				t.Errorf("%s: missing %s", ev, k)
			}
		}
		if data["event"] != ev || data["fulfillmentStatus"] != ev {
			t.Errorf("%s: event fields %v %v", ev, data["event"], data["fulfillmentStatus"])
		}
		if _, err := time.Parse(time.RFC3339, data["created"].(string)); err != nil {
			t.Errorf("%s: created %v", ev, err)
		}
		for _, it := range data["items"].([]any) {
			if _, ok := it.(map[string]any)["fulfillments"].([]any); !ok {
				t.Errorf("%s: item without fulfillments list", ev)
			}
		}
		if _, err := e.Render(context.Background(), Template{Format: FormatJSON, Body: fixed}, data, nil); err != nil {
			t.Errorf("%s: fixed seed template: %v", ev, err)
		}
		// The seed's own template breaks as soon as an order has two parcels.
		_, err := e.Render(context.Background(), Template{Format: FormatJSON, Body: seed}, data, nil)
		tracked := data["trackingCode"] != ""
		if tracked != (err != nil) {
			t.Errorf("%s: seed template err = %v", ev, err)
		}
		// Fresh maps on every call.
		data["orderId"] = "changed"
		if again, _ := SamplePostbackContext(ev); again["orderId"] == "changed" {
			t.Errorf("%s: samples share state", ev)
		}
	}
	if _, ok := SamplePostbackContext("teleported"); ok {
		t.Error("unknown event has a sample")
	}
}

func TestIntakeContext(t *testing.T) {
	body := map[string]any{"orderReferenceId": "ORD-1", "now": "body's now", "items": []any{}}
	headers := map[string][]string{
		"X-API-KEY": {"secret"}, "Authorization": {"Bearer x"}, "Cookie": {"a=b"},
		"Content-Type": {"application/json"}, "X-Trace": {"a", "b"},
	}
	now := time.Date(2025, 3, 14, 10, 26, 53, 0, time.FixedZone("CET", 3600))
	c := IntakeContext(body, headers, CustomerInfo{ID: "cus_1", Name: "Acme", ReferenceID: "ACME"}, now)
	// The body's keys win; ours stay under orderintake.
	if c["orderReferenceId"] != "ORD-1" || c["now"] != "body's now" || c["orderintake"].(map[string]any)["now"] != "2025-03-14T09:26:53Z" {
		t.Errorf("context: %v", c)
	}
	h := c["headers"].(map[string]any)
	if len(h) != 2 || h["content-type"] != "application/json" || h["x-trace"] != "a, b" {
		t.Errorf("headers: %v", h)
	}
	if cu := c["customer"].(map[string]any); cu["id"] != "cus_1" || cu["name"] != "Acme" || cu["referenceId"] != "ACME" {
		t.Errorf("customer: %v", cu)
	}
	if c["body"].(map[string]any)["now"] != "body's now" {
		t.Error("the whole body must stay reachable through body")
	}
	if c := IntakeContext([]any{int64(1)}, nil, CustomerInfo{}, now); len(c) != 5 || c["orderintake"] == nil {
		t.Errorf("array body: %v", c)
	}
}

// gonja keeps its filter and method names private; these lists must not
// silently lose entries when gonja changes.
func TestBuiltinNamesExist(t *testing.T) {
	for _, name := range knownFilters {
		if name != "date" && !builtins.Filters.Exists(name) {
			t.Errorf("gonja has no filter %q", name)
		}
	}
	e := NewEngine(Options{})
	for _, name := range []string{"tojson", "default", "upper", "lower", "replace", "round", "join", "length", "first", "last", "date"} {
		if !e.env.Filters.Exists(name) {
			t.Errorf("filter %q missing", name)
		}
	}
	if got := mustRender(t, e, FormatText, `{{ "a-b".split("-") | join(",") }} {{ "x".upper() }} {{ " y ".strip() }}`, nil); got != "a,b X y" {
		t.Errorf("string methods: %q", got)
	}
}

// Floats print as Python (and so Jinja2 and json.dumps) writes them; JSON has
// no NaN or infinity, so a JSON value that is one is a template error naming
// where, not null and not invalid JSON.
func TestFloatsAsPythonWritesThem(t *testing.T) {
	e := NewEngine(Options{})
	data := map[string]any{"whole": 4.0, "tenth": 0.1, "big": 1e16, "tiny": 1e-5, "i": int64(4)}
	if got := mustRender(t, e, FormatText, `{{ whole }} {{ tenth }} {{ big }} {{ tiny }} {{ i }} {{ 8 / 2 }}`, data); got != "4.0 0.1 1e+16 1e-05 4 4.0" {
		t.Errorf("text: %q", got)
	}
	if got := mustRender(t, e, FormatJSON, `{"a": {{ whole }}, "b": [{{ big }}, {{ tiny }}], "s": "{{ whole }}", "l": {{ [whole, i] }}}`, data); got != `{"a": 4.0, "b": [1e+16, 1e-05], "s": "4.0", "l": [4.0,4]}` {
		t.Errorf("json: %q", got)
	}
	if got := mustRender(t, e, FormatText, `{{ 'inf' | float }} {{ ['-inf' | float] }}`, nil); got != "inf [-inf]" {
		t.Errorf("text inf: %q", got)
	}
	for _, body := range []string{`{"a": {{ 'inf' | float }}}`, "{\"a\":\n {{ ['nan' | float] }}}"} {
		_, err := render(t, e, FormatJSON, body, nil, nil)
		if err == nil || err.Kind != ErrRuntime || !strings.Contains(err.Message, "cannot be written as JSON") || err.Line == 0 {
			t.Errorf("%s: want a runtime error with a position naming the float, got %v", body, err)
		}
	}
	// Inside a JSON string the text form is fine: it is a string.
	if got := mustRender(t, e, FormatJSON, `{"a": "{{ 'inf' | float }}"}`, nil); got != `{"a": "inf"}` {
		t.Errorf("json string: %q", got)
	}
}
