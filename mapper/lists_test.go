package mapper

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A list the template receives is one list under every name in a render
// (as in Jinja2), and a render that grows it changes neither the parsed
// body nor the next render, whether the body was parsed with or without
// its key order.
func TestSharedListsStayInTheirRender(t *testing.T) {
	e := NewEngine(Options{})
	raw := []byte(`{"items": [{"sku": "b", "tags": ["x"]}], "nums": [1, 2]}`)
	ordered, _, err := ParseInputOrdered("application/json", raw)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := ParseInput("application/json", raw)
	if err != nil {
		t.Fatal(err)
	}
	body := `{% set b = nums %}{% set _ = b.append(3) %}{% macro tag(l) %}{% set _ = l.append('y') %}{% endmacro %}{{ tag(items[0].tags) }}` +
		`{{ nums | join(',') }}|{{ items[0].tags | join(',') }}|{{ items | tojson }}`
	want := `1,2,3|x,y|[{"sku": "b", "tags": ["x", "y"]}]`
	for _, v := range []any{ordered, plain} {
		data, _ := AsMap(v)
		for i := 0; i < 2; i++ { // the second render must not see the first one's appends
			out, err := e.Render(context.Background(), Template{Format: FormatText, Body: body}, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != want {
				t.Errorf("%T render %d: %q, want %q", v, i, out, want)
			}
		}
	}
	pd, _ := AsMap(PlainValue(ordered))
	if n := len(pd["nums"].([]any)); n != 2 {
		t.Errorf("the template changed the parsed body: nums has %d items", n)
	}
	if tags := pd["items"].([]any)[0].(map[string]any)["tags"].([]any); len(tags) != 1 {
		t.Errorf("the template changed the parsed body: tags %v", tags)
	}
	if n := len(plain.(map[string]any)["nums"].([]any)); n != 2 {
		t.Errorf("the template changed the plain parsed body: nums has %d items", n)
	}
}

// A list or mapping may not be made to hold itself: gonja's comparisons and
// conversions would follow it forever (before this check, `d == d` on such
// a dict overflowed the goroutine's stack, which ends the whole process).
func TestContainersCannotHoldThemselves(t *testing.T) {
	e := NewEngine(Options{Timeout: 30 * time.Second})
	for _, body := range []string{
		`{% set a = [] %}{% set _ = a.append(a) %}{{ a == a }}`,
		`{% set a = [] %}{% set b = a %}{% set _ = b.append([1, a]) %}{{ a == a }}`,
		`{% set a = [[]] %}{% set _ = a[0].append(a) %}{{ a == a }}`,
		`{% set a = [] %}{% set d = {'a': a} %}{% set _ = a.append(d) %}{{ a == a }}`,
		`{% set a = [] %}{% set ns = namespace(l=a) %}{% set _ = a.append(ns) %}{{ a == a }}`,
		`{% macro add(l) %}{% set _ = l.append(l) %}{% endmacro %}{% set xs = [] %}{{ add(xs) }}{{ xs == xs }}`,
		`{% set d = {} %}{% set _ = d.update({'self': d}) %}{{ d == d }}`,
		`{% set d = {} %}{% set _ = d.update(me=[d]) %}{{ d == d }}`,
		`{% set d = {} %}{% set _ = d.setdefault('x', d) %}{{ d == d }}`,
		`{% set ns = namespace(a=[]) %}{% set _ = ns.a.append(ns) %}{{ ns == ns }}`,
	} {
		t0 := time.Now()
		_, err := render(t, e, FormatText, body, nil, nil)
		if err == nil || err.Kind != ErrRuntime || !strings.Contains(err.Message, "cannot hold itself") {
			t.Errorf("%s: got %v, want a runtime error saying it cannot hold itself", body, err)
		}
		if took := time.Since(t0); took > 5*time.Second {
			t.Errorf("%s: took %v", body, took)
		}
	}
}
