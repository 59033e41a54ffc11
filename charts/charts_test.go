package charts

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestHourlyStackedBars(t *testing.T) {
	to := time.Date(2026, 11, 28, 12, 30, 0, 0, time.UTC)
	from := to.Add(-24 * time.Hour)
	b := Hourly(from, to, func(yield func(time.Time, string, int)) {
		yield(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), "delivered", 7)
		yield(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), "failed", 2)
		yield(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), "<script>", 1) // a status is text, escaped
		yield(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), "failed", 99)   // outside: dropped
	})
	if len(b) != 25 || !b[0].At.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("%d buckets from %v, want 25 hours from 27 Nov 12:00", len(b), b[0].At)
	}
	svg := string(StackedBars("orders-24h", "Orders per hour", b, 3, "15h"))
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, svg)
	}
	for _, want := range []string{`data-total="10"`, `data-status="delivered" data-count="7"`, `data-status="failed" data-count="2"`, "&lt;script&gt;"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %s", want)
		}
	}
	if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
		t.Error("svg has a style attribute or a script (the CSP refuses them)")
	}
	if g := Group(b, 6); len(g) != 5 || g[3].Counts["delivered"] != 7 {
		t.Errorf("grouped by 6 h: %d bars, %v", len(g), g)
	}
}

func TestFormats(t *testing.T) {
	for in, want := range map[float64]string{0: "<1 ms", 0.4: "<1 ms", 1: "1 ms", 35: "35 ms", 1500: "1.5 s", 90000: "1.5 min"} {
		if got := Millis(in); got != want {
			t.Errorf("Millis(%v) = %q, want %q", in, got, want)
		}
	}
	if Percent(0.25, true) != "25.0%" || Percent(0, false) != "—" || Percent(0.0004, true) != "<0.1%" {
		t.Error("Percent")
	}
	for v, want := range map[int]int{0: 4, 5: 8, 37: 40, 101: 200, 1000: 1000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
}
