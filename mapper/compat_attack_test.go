package mapper

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCompatAttacks: the Jinja2-compatible formatting and filters refuse a
// hostile size before they build it. Each attack must end in ErrLimit well
// before the render timeout, and the render must allocate far less than the
// value it asked for (the string limit is 1 MiB; the attacks ask for 1 GB).
func TestCompatAttacks(t *testing.T) {
	e := NewEngine(Options{})
	before := runtime.NumGoroutine()
	attacks := []struct{ name, body string }{
		{"% zero-padded width", `{{ '%0999999999d' % 1 }}`},
		{"% string width", `{{ '%999999999s' % 'x' }}`},
		{"% left-aligned width", `{{ '%-999999999s|' % 'x' }}`},
		{"% float precision", `{{ '%.999999999f' % 1.5 }}`},
		{"% star width", `{{ '%*d' % (999999999, 1) }}`},
		// A tuple written out (Python spreads only a tuple; a list is one argument).
		{"% many fields", `{{ ('%-9999s' * 200) % (` + strings.Repeat(`'x', `, 200) + `) }}`},
		{"% mapping fields", `{{ ('%(a)s' * 100000) % {'a': 'x' * 1000} }}`},
		{"format filter width", `{{ '%0999999999d' | format(1) }}`},
		{".format nested width", `{{ '{:>{w}}'.format('x', w=999999999) }}`},
		{".format zero width", `{{ '{:0{w}d}'.format(1, w=999999999) }}`},
		{".format precision", `{{ '{:.{p}f}'.format(1.5, p=999999999) }}`},
		{".format many fields", `{{ ('{0:9999}' * 200).format('x') }}`},
		{".format_map nested width", `{{ '{a:>{w}}'.format_map({'a': 'x', 'w': 999999999}) }}`},
		{"wordwrap wrapstring", `{{ ('a' * 1000000) | wordwrap(1, wrapstring='x' * 1000) }}`},
		{"wordwrap breaks", `{{ ('ab ' * 300000) | wordwrap(1, wrapstring='xxxxxxxx') }}`},
		{"replace method growth", `{{ ('a' * 100000).replace('a', 'b' * 1000) }}`},
		{"replace method empty old", `{{ ('a' * 100000).replace('', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb') }}`},
		{"replace filter count", `{{ ('a' * 100000) | replace('a', 'b' * 1000, 90000) }}`},
		{"rjust method", `{{ 'x'.rjust(999999999, '*') }}`},
		{"center method", `{{ 'x'.center(999999999) }}`},
		{"center filter", `{{ 'x' | center(999999999) }}`},
		{"tojson of a large value", `{{ (['a' * 100000] * 100) | tojson }}`},
		{"tojson indent of a large value", `{{ ([['a'] * 1000] * 1000) | tojson(indent=16) }}`},
		{"string of a large value", `{{ (['a' * 100000] * 100) | string }}`},
		{"urlencode growth", `{{ ('&' * 1000000) | urlencode }}`},
		{"urlencode mapping", `{{ {'k': '&' * 1000000} | urlencode }}`},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			start := time.Now()
			out, err := render(t, e, FormatText, a.body, nil, nil)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&m1)
			if err == nil {
				t.Fatalf("rendered %d bytes, want an ErrLimit error", len(out))
			}
			if err.Kind != ErrLimit {
				t.Fatalf("kind %s (%v), want %s", err.Kind, err, ErrLimit)
			}
			if err.Message == "" || len(err.Message) > 300 {
				t.Errorf("message %q", err.Message)
			}
			if elapsed > time.Second {
				t.Errorf("took %v: refused by the timeout, not before building", elapsed)
			}
			// The inputs themselves (e.g. 'a' * 1000000) and the 1 MiB
			// strings a render may build cost a few MB; 1 GB was asked for.
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MB before refusing", alloc>>20)
			}
			t.Logf("%v (%v)", err.Message, elapsed)
		})
	}
	waitGoroutines(t, before)
}
