package mapper

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// attack is one template (or reference expression) meant to exhaust the
// process. The same corpus runs against the real binary in
// faults/render_attack_test.go; keep the two in step.
type attack struct {
	name string
	body string // a text template, or an expression when expr is set
	expr bool
}

const big = `{% set s = "a" * 1000000 %}`

var attackCorpus = []attack{
	{"issue: list of 2000 refs to a 1 MB string, printed", big + `{{ [s] * 2000 }}`, false},
	{"list repetition joined", big + `{{ ([s] * 2000) | join }}`, false},
	{"list repetition to json", big + `{{ ([s] * 2000) | tojson }}`, false},
	{"list repetition as string", big + `{{ ([s] * 2000) | string }}`, false},
	{"nested list repetition", big + `{{ [[s] * 40] * 50 }}`, false},
	{"nested repetition of a small list", `{{ [["x"] * 1000] * 100000 }}`, false},
	{"list repetition concatenated", big + `{{ ([s] * 2000) ~ "" }}`, false},
	{"list repetition through a gonja filter", big + `{{ ([s] * 2000) | trim }}`, false},
	{"list growth then a method call", big + `{% set a = [s, s, s] %}{% set b = a + a %}{{ b.count(s) }}`, false},
	{"literal fan-out then print", big + `{% set a = [s,s,s,s,s,s,s,s] %}{% set b = [a,a,a,a,a,a,a,a] %}{% set c = [b,b,b,b,b,b,b,b] %}{{ c }}`, false},
	{"literal fan-out through a filter", big + `{% set a = [s,s,s,s,s,s,s,s] %}{% set b = [a,a,a,a,a,a,a,a] %}{{ [b,b,b,b] | tojson }}`, false},
	{"string repetition past the limit", `{{ "a" * 1000000000 }}`, false},
	{"string repetition of a big string", big + `{{ s * 2000 }}`, false},
	{"percent format width", `{{ '%0999999999d' % 1 }}`, false},
	{"percent format star width", `{{ '%*d' % (999999999, 1) }}`, false},
	{"percent format many widths", `{{ '` + strings.Repeat("%99999d", 200) + `' % (` + strings.Repeat("1,", 199) + `1) }}`, false},
	{"format filter many widths", `{{ "` + strings.Repeat("%999999d", 100) + `" | format(` + strings.Repeat("1,", 99) + `1) }}`, false},
	{"str.format width", `{{ '{:>999999999}'.format(1) }}`, false},
	{"str.format nested width", `{{ '{:>{w}}'.format(1, w=999999999) }}`, false},
	{"str.format nested positional width", `{{ '{:>{}}{:>{}}'.format(1, 900000, 2, 900000) }}`, false},
	{"str.format of a big list", big + `{{ '{}'.format([s] * 1000) }}`, false},
	{"wordwrap of a huge paragraph", `{% set w = ("ab " * 300000) | wordwrap(100000000) %}{{ w ~ w }}`, false},
	{"wordwrap of a huge string, narrow", big + `{{ (s ~ " " ~ s) | wordwrap(1) ~ s }}`, false},
	{"replace blow-up", big + `{{ s | replace("a", "aaaaaaaaaa") }}`, false},
	{"join with a big separator", big + `{{ range(100000) | join(s) }}`, false},
	{"center width", `{{ "x" | center(999999999) }}`, false},
	{"range too long", `{% for i in range(1000000000) %}{% endfor %}`, false},
	{"nested ranges", `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, false},
	{"range joined and repeated", `{{ (range(100000) | list) * 1000 }}`, false},
	{"loop over a repeated list", `{% for x in [1] * 100000 %}{% for y in [1] * 100000 %}{{ x }}{% endfor %}{% endfor %}`, false},
	{"loop over a repeated big list", big + `{% for x in [s] * 100000 %}{{ loop.index }}{% endfor %}`, false},
	{"dict growth in a loop", big + `{% set ns = namespace(d={}) %}{% for i in range(100000) %}{% set ns.d = {"k" ~ i: s, "prev": ns.d} %}{% endfor %}{{ ns.d | length }}`, false},
	{"dict growth by update in a loop", big + `{% set d = {} %}{% for i in range(100000) %}{% set _ = d.update({"k" ~ i: s}) %}{% endfor %}{{ d | length }}`, false},
	{"dict literal fan-out", big + `{% set d = {"a": s, "b": s, "c": s, "d": s, "e": s} %}{{ d | length }}`, false},
	{"dict growth by update", big + `{% set d = {"a": [s, s, s]} %}{% set _ = d.update({"b": [s, s]}) %}{{ d | length }}`, false},
	{"list growth by append", big + `{% set l = [] %}` + strings.Repeat(`{% set _ = l.append(s) %}`, 8) + `{{ l | length }}`, false},
	{"shared list grown behind its holders, then to json", big + `{% set a = [] %}{% set outer = [a] * 1000 %}{% set x = [outer] %}{% set _ = a.append(s) %}{% set _ = a.append(s) %}{{ outer | tojson }}`, false},
	{"shared list fan-out grown, then printed", big + `{% set a = [] %}{% set b = [a,a,a,a,a,a,a,a] %}{% set c = [b,b,b,b,b,b,b,b] %}{% set _ = a.append(s) %}{{ c }}`, false},
	{"shared dict grown behind its holders, as string", big + `{% set d = {} %}{% set outer = [d] * 1000 %}{% set x = [outer] %}{% set _ = d.update({"a": s}) %}{{ outer | string }}`, false},
	{"shared list grown by a macro in a loop", big + `{% macro add(l) %}{% set _ = l.append(s) %}{% endmacro %}{% set xs = [] %}{% for i in range(100) %}{{ add(xs) }}{% endfor %}{{ xs | length }}`, false},
	{"shared list grown through an alias in a loop", big + `{% set a = [] %}{% set b = a %}{% for i in range(100) %}{% set _ = b.append(s) %}{% endfor %}{{ a | length }}`, false},
	{"namespace growth by set", big + `{% set ns = namespace() %}{% set ns.a = [s, s, s] %}{% set ns.b = [s, s, s] %}{{ ns.a | length }}`, false},
	{"namespace fan-out", big + `{% set ns = namespace(a=[s, s, s], b=[s, s, s]) %}{{ ns.a | length }}`, false},
	{"list growth by +", big + `{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [s] %}{% endfor %}{{ ns.l | length }}`, false},
	{"list doubling", `{% set ns = namespace(l=["abcdefgh"]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}`, false},
	{"namespace string growth", big + `{% set ns = namespace(s="") %}{% for i in range(100000) %}{% set ns.s = ns.s ~ s %}{% endfor %}{{ ns.s | length }}`, false},
	{"macro recursion", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, false},
	{"macro fan-out", `{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}`, false},
	{"macro output doubling", `{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% else %}xxxxxxxxxxxxxxxx{% endif %}{% endmacro %}{{ f(0) }}`, false},
	{"set block growth", big + `{% set ns = namespace(s="") %}{% for i in range(1000) %}{% set x %}{{ ns.s }}{{ s }}{% endset %}{% set ns.s = x %}{% endfor %}`, false},
	{"loop over the characters of a 1 MB string", big + `{% for c in s %}{{ c }}{% endfor %}`, false},
	{"1 MB string as a list", big + `{{ s | list | length }}`, false},
	{"groupby over a 1 MB string", big + `{{ s | groupby("x") | length }}`, false},
	{"split into a million items", big + `{{ s.split("a") | length }}`, false},
	{"batch fill", big + `{{ [1] | batch(100000, s) | list | length }}`, false},
	{"reference: string repetition", `"a" * 1000000000`, true},
	{"reference: list repetition joined", `(["abcdefgh"] * 100000) | join("abcdefgh" * 100000)`, true},
	{"reference: list of a big string", `["a" * 1000000] * 5000`, true},
	{"reference: percent width", `'%0999999999d' % 1`, true},
	{"reference: format width", `'{:>{w}}'.format(1, w=999999999)`, true},
	{"reference: wordwrap", `("ab " * 300000) | wordwrap(100000000) ~ ("ab " * 300000)`, true},
}

// TestSandboxAttacks runs every attack: each must end in an ErrLimit that a
// budget raised (not the clock), and allocate far less than it asked for.
func TestSandboxAttacks(t *testing.T) {
	e := NewEngine(Options{Timeout: 30 * time.Second}) // a budget must stop each attack, not the deadline
	for _, a := range attackCorpus {
		t.Run(a.name, func(t *testing.T) {
			runtime.GC()
			peak := sampleHeap()
			t0 := time.Now()
			var err error
			if a.expr {
				_, err = e.EvalString(context.Background(), a.body, map[string]any{"orderReferenceId": "R-1"})
			} else {
				_, err = e.Render(context.Background(), Template{Format: FormatText, Body: a.body}, nil, nil)
			}
			took := time.Since(t0)
			grew := peak()
			var te *Error
			if !errors.As(err, &te) || te.Kind != ErrLimit {
				t.Fatalf("got %v, want a limit error", err)
			}
			if strings.Contains(te.Message, "took longer") {
				t.Fatalf("stopped by the clock, not by a budget: %v", err)
			}
			// 16 MiB budget + the 1 MB strings the attacks start from + gonja's
			// garbage not yet collected (loops over 100 000 items make plenty).
			if grew > 128<<20 {
				t.Errorf("the heap grew by %d MiB before the attack was refused", grew>>20)
			}
			t.Logf("%v, heap +%d MiB: %s", took.Round(time.Millisecond), grew>>20, te.Message)
		})
	}
}

// An abandoned render stops: when Render returns at its deadline, the
// render's goroutine has finished (no work goes on behind the answer).
func TestSandboxDeadlineStopsRender(t *testing.T) {
	e := NewEngine(Options{Timeout: 200 * time.Millisecond})
	slow := []string{
		// loop whose body allocates nothing and costs ~0.1 ms: only the clock stops it
		big + `{% for i in range(100000) %}{% set n = s.count("ab") %}{% endfor %}`,
		big + `{% for i in range(100000) %}{% if s.endswith("b") or s.find("b") > 0 %}x{% endif %}{% endfor %}`,
		// one filter call, quadratic inside gonja: a test per item, each scanning 100 000 items
		`{{ range(100000) | select("in", range(100000) | list) | list | length }}`,
		`{{ range(100000) | map("string") | reject("in", range(100000) | map("string") | list) | list | length }}`,
	}
	for _, body := range slow {
		_, err := e.Render(context.Background(), Template{Format: FormatText, Body: body}, nil, nil)
		var te *Error
		if !errors.As(err, &te) || te.Kind != ErrLimit || !strings.Contains(te.Message, "took longer") {
			t.Fatalf("got %v, want the deadline error", err)
		}
		waitStopped(t)
	}
	// The caller's context stops a render the same way.
	e = NewEngine(Options{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := e.Render(ctx, Template{Format: FormatText, Body: slow[0]}, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	waitStopped(t)
}

// waitStopped checks that no render goroutine runs on: normally none is
// left when Render returns; on a starved machine Render may answer after
// haltGrace while the render is still on its way to its next check.
func waitStopped(t *testing.T) {
	t.Helper()
	t0 := time.Now()
	for liveRenders.Load() != 0 {
		if time.Since(t0) > 2*time.Second {
			t.Fatalf("%d render goroutines still running 2 s after Render returned", liveRenders.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(t0); d > 0 {
		t.Logf("render goroutine finished %v after Render returned", d.Round(time.Millisecond))
	}
}

// The guards refuse only what is too big: ordinary uses of the same
// constructs still render.
func TestSandboxAllowsOrdinary(t *testing.T) {
	e := NewEngine(Options{})
	cases := map[string]string{
		`{{ ["ab"] * 3 }}`:                         `["ab","ab","ab"]`,
		`{{ ([1, 2] * 2) | join(",") }}`:           `1,2,1,2`,
		`{{ '{:>5}|{:<{w}}|'.format(1, 2, w=3) }}`: `    1|2  |`,
		`{{ "%05d" | format(42) }}`:                `00042`,
		`{{ "ab cd ef" | wordwrap(5) }}`:           "ab cd\nef",
		`{% set l = [] %}{% set _ = l.append(1) %}{% set _ = l.append("a") %}{{ l }}`:                            `[1,"a"]`,
		`{% set ns = namespace(l=[]) %}{% for i in range(3) %}{% set ns.l = ns.l + [i] %}{% endfor %}{{ ns.l }}`: `[0,1,2]`,
		`{{ "x" * 3 ~ [1] }}`: `xxx[1]`,
	}
	for body, want := range cases {
		out, err := e.Render(context.Background(), Template{Format: FormatText, Body: body}, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if string(out) != want {
			t.Errorf("%s = %q, want %q", body, out, want)
		}
	}
	// an order close to the 1 MiB body limit can still be written out whole
	items := make([]any, 0, 5000)
	for i := 0; i < 5000; i++ {
		items = append(items, map[string]any{"sku": strings.Repeat("s", 150), "quantity": i})
	}
	out, err := e.Render(context.Background(), Template{Format: FormatJSON, Body: `{"items": {{ items | tojson }}, "n": {{ (items + items) | length }}}`},
		map[string]any{"items": items}, nil)
	if err != nil {
		t.Fatalf("big order: %v", err)
	}
	if len(out) < 800_000 {
		t.Errorf("big order: output of %d bytes", len(out))
	}
}

// sampleHeap watches the live heap until the returned function is called,
// which reports how far the heap grew above where it started.
func sampleHeap() func() uint64 {
	read := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	start := read()
	var max atomic.Uint64
	max.Store(start)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if n := read(); n > max.Load() {
				max.Store(n)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return max.Load() - start
	}
}

// Compiling is bounded too: the parser is superlinear in block nesting, and
// a compile that outlives compileBounded's deadline would run on unseen. The
// lexer pass refuses such templates before the parser starts.
func TestSandboxCompileBounded(t *testing.T) {
	e := NewEngine(Options{})
	const n = 250 << 10
	cases := map[string]string{
		"unclosed ifs":     strings.Repeat("{% if x %}", n/10),
		"unclosed fors":    strings.Repeat("{% for x in y %}", n/16),
		"nested macros":    strings.Repeat("{% macro m() %}", n/15),
		"attr chain":       "{{ x" + strings.Repeat(".a", n/2) + " }}",
		"call chain":       "{{ x" + strings.Repeat("()", n/2) + " }}",
		"unary chain":      "{{ " + strings.Repeat("not ", n/4) + "x }}",
		"parenthesised":    "{{ " + strings.Repeat("(", n/2) + "x }}",
		"open brackets":    strings.Repeat("{{ [", n/4),
		"filter chain":     "{{ x" + strings.Repeat("|e", n/2) + " }}" + strings.Repeat("{% if x %}", 200),
		"ifs with endsets": strings.Repeat("{% if x %}{% endset %}", n/22),
		"if/endif pairs":   strings.Repeat("{% if x %}{% endif %}", n/21) + strings.Repeat("{% if x %}", 200),
	}
	for name, body := range cases {
		err := e.Check(Template{Format: FormatText, Body: body})
		var te *Error
		if !errors.As(err, &te) || te.Kind != ErrSyntax {
			t.Errorf("%s: got %v, want a syntax error", name, err)
		}
	}
	if err := e.Check(Template{Format: FormatText, Body: strings.Repeat("{% if x %}", 60) + strings.Repeat("{% endif %}", 60)}); err != nil {
		t.Errorf("60 nested ifs: %v", err)
	}
}

// A value's weight never exceeds its JSON size (so nothing that fits is
// refused for its weight) and is not far below it (so weighing bounds what
// writing builds).
func TestWeightBoundsJSONSize(t *testing.T) {
	values := map[string]any{}
	for _, name := range []string{"shop-style.json", "storefront-camel.json", "erp-order.xml"} {
		body, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "orders", name))
		if err != nil {
			body, err = os.ReadFile(filepath.Join("/work/shared/samples/orders", name))
		}
		if err != nil {
			t.Logf("sample %s not found: %v", name, err)
			continue
		}
		ct := "application/json"
		if strings.HasSuffix(name, ".xml") {
			ct = "application/xml"
		}
		v, _, err := ParseInput(ct, body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		values[name] = v
	}
	ints := make([]any, 200_000)
	for i := range ints {
		ints[i] = int64(i % 10)
	}
	values["200k small integers"] = ints
	values["mixed"] = []any{nil, true, false, 1.5, -3, "a\"b", map[string]any{"k": []any{"x", 2.25e-9}}, json.Number("12.50")}
	for name, v := range values {
		w, err := weigh(nil, v, math.MaxInt)
		if err != nil {
			t.Fatal(err)
		}
		b, err := appendJSON(nil, v, 0)
		if err != nil {
			t.Fatal(err)
		}
		if w > len(b) || 6*w+16 < len(b) {
			t.Errorf("%s: weight %d for %d bytes of JSON", name, w, len(b))
		}
	}
	// 200k small integers print in under 1 MiB: the output check lets them through.
	out, err := NewEngine(Options{}).Render(context.Background(), Template{Format: FormatJSON, Body: `{{ n }}`}, map[string]any{"n": ints}, nil)
	if err != nil || len(out) < 400_000 {
		t.Fatalf("printing 200k integers: %d bytes, %v", len(out), err)
	}
}
