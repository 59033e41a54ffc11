// Package charts draws the HQ overview's charts as SVG on the server: no
// chart library and no script, and nothing the page's CSP would refuse
// (colours are SVG presentation attributes, not style attributes; hover
// text is an SVG <title>).
package charts

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"
)

// Bucket is one bar of a stacked bar chart: counts by series at a time.
type Bucket struct {
	At     time.Time
	Counts map[string]int
}

// StatusColors are the order statuses' colours, in stacking order (bottom
// first); statuses not listed are stacked last in grey.
var StatusColors = []struct{ Name, Color string }{
	{"delivered", "#15803d"}, {"shipped", "#22c55e"}, {"in_transit", "#4ade80"}, {"in_production", "#60a5fa"},
	{"submitted", "#3b82f6"}, {"received", "#93c5fd"}, {"accepted", "#bfdbfe"}, {"delayed", "#eab308"},
	{"canceled", "#9ca3af"}, {"returned", "#f97316"}, {"failed", "#dc2626"}, {"rejected", "#7f1d1d"},
}

const otherColor = "#6b7280"

func colorOf(status string) string {
	for _, c := range StatusColors {
		if c.Name == status {
			return c.Color
		}
	}
	return otherColor
}

// seriesOrder is the stacking order of the statuses present in buckets.
func seriesOrder(buckets []Bucket) []string {
	present := map[string]bool{}
	for _, b := range buckets {
		for s, n := range b.Counts {
			if n > 0 {
				present[s] = true
			}
		}
	}
	var out []string
	for _, c := range StatusColors {
		if present[c.Name] {
			out = append(out, c.Name)
			delete(present, c.Name)
		}
	}
	var rest []string
	for s := range present {
		rest = append(rest, s)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Hourly fills the hours of [from, to) with counts (missing hours are
// empty bars), so a quiet hour shows as a gap, not as a shorter chart.
func Hourly(from, to time.Time, counts func(yield func(hour time.Time, status string, n int))) []Bucket {
	from, to = from.UTC().Truncate(time.Hour), to.UTC()
	idx := map[time.Time]int{}
	var out []Bucket
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		idx[h] = len(out)
		out = append(out, Bucket{At: h, Counts: map[string]int{}})
	}
	counts(func(hour time.Time, status string, n int) {
		if i, ok := idx[hour.UTC().Truncate(time.Hour)]; ok {
			out[i].Counts[status] += n
		}
	})
	return out
}

// Group merges every n buckets into one (7 days of hours into 6-hour bars).
func Group(buckets []Bucket, n int) []Bucket {
	if n <= 1 {
		return buckets
	}
	var out []Bucket
	for i := 0; i < len(buckets); i += n {
		b := Bucket{At: buckets[i].At, Counts: map[string]int{}}
		for _, x := range buckets[i:min(i+n, len(buckets))] {
			for s, c := range x.Counts {
				b.Counts[s] += c
			}
		}
		out = append(out, b)
	}
	return out
}

// StackedBars draws buckets as stacked bars with a y axis, time labels
// (labelEvery buckets, formatted with layout) and a legend. id names the
// chart for links and tests; the svg carries data-total (all counts).
func StackedBars(id, title string, buckets []Bucket, labelEvery int, layout string) template.HTML {
	const w, h, left, right, top, bottom = 720.0, 220.0, 44.0, 8.0, 10.0, 48.0
	series := seriesOrder(buckets)
	maxTotal, total := 0, 0
	for _, b := range buckets {
		t := 0
		for _, n := range b.Counts {
			t += n
		}
		total += t
		maxTotal = max(maxTotal, t)
	}
	yMax := niceCeil(maxTotal)
	plotW, plotH := w-left-right, h-top-bottom
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" data-total="%d" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		esc(id), total, w, h, esc(title))
	fmt.Fprintf(&sb, `<title>%s</title>`, esc(title))
	// y grid and labels
	for i := 0; i <= 4; i++ {
		v := yMax * i / 4
		y := top + plotH - plotH*float64(v)/float64(max(yMax, 1))
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, left, w-right, y, y)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="10" fill="#6b7280" text-anchor="end">%d</text>`, left-4, y+3, v)
	}
	n := len(buckets)
	slot := plotW / float64(max(n, 1))
	barW := math.Max(slot*0.8, 1)
	for i, b := range buckets {
		x := left + float64(i)*slot + (slot-barW)/2
		y := top + plotH
		t := 0
		for _, s := range series {
			c := b.Counts[s]
			if c == 0 {
				continue
			}
			t += c
			bh := plotH * float64(c) / float64(max(yMax, 1))
			y -= bh
			fmt.Fprintf(&sb, `<rect class="bar" data-status="%s" data-count="%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
				esc(s), c, x, y, barW, bh, colorOf(s), esc(b.At.UTC().Format("Mon 02 Jan 15:04")), esc(s), c)
		}
		if labelEvery > 0 && i%labelEvery == 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="10" fill="#6b7280" text-anchor="middle">%s</text>`,
				x+barW/2, top+plotH+13, esc(b.At.UTC().Format(layout)))
		}
	}
	fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#9ca3af"/>`, left, w-right, top+plotH, top+plotH)
	// legend
	lx := left
	for _, s := range series {
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f" font-size="11" fill="#374151">%s</text>`,
			lx, h-16, colorOf(s), lx+14, h-7, esc(s))
		lx += 14 + 7*float64(len(s)) + 14
	}
	if total == 0 {
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="13" fill="#6b7280" text-anchor="middle">no orders in this window</text>`, left+plotW/2, top+plotH/2)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped by esc
}

// Meter draws a rate as a horizontal bar (0..1) with its label; good says
// whether a high rate is good (success) or bad (failures), for the colour.
func Meter(id string, rate float64, known bool, good bool) template.HTML {
	const w, h = 220.0, 14.0
	color := "#dc2626"
	switch {
	case !known:
		color = "#d1d5db"
	case good && rate >= 0.95, !good && rate <= 0.02:
		color = "#16a34a"
	case good && rate >= 0.8, !good && rate <= 0.1:
		color = "#eab308"
	}
	fill := 0.0
	if known {
		fill = w * math.Min(math.Max(rate, 0), 1)
	}
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" class="meter" id="%s" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" preserveAspectRatio="none" role="img" aria-label="%s"><rect width="%.0f" height="%.0f" rx="3" fill="#f3f4f6"/><rect width="%.1f" height="%.0f" rx="3" fill="%s"/></svg>`,
		esc(id), w, h, w, h, esc(Percent(rate, known)), w, h, fill, h, color)) //nolint:gosec // escaped
}

// Percent formats a rate for people ("—" when unknown).
func Percent(rate float64, known bool) string {
	if !known {
		return "—"
	}
	p := rate * 100
	switch {
	case p > 0 && p < 0.1:
		return "<0.1%"
	case p >= 99.95 && p < 100:
		return ">99.9%"
	}
	return fmt.Sprintf("%.1f%%", p)
}

// Millis formats a duration in milliseconds for people: under 1 ms is
// "<1 ms" (a zero would read as "not measured").
func Millis(ms float64) string {
	switch {
	case ms < 1:
		return "<1 ms"
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 60000:
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("%.1f min", ms/60000)
}

// niceCeil rounds a maximum up to 1, 2 or 5 times a power of ten, so the
// four grid lines fall on round numbers.
func niceCeil(v int) int {
	if v <= 4 {
		return 4
	}
	p := int(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int{1, 2, 4, 5, 8, 10} {
		if m*p >= v && (m*p)%4 == 0 {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string { return template.HTMLEscapeString(s) }
