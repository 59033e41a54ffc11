package bench

import (
	"strings"
	"testing"
	"time"
)

// The medians of the first and last quarter, in the order given; too few
// samples give none.
func TestQuarterP50s(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 16; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	if first, last := quarterP50s(s); first != 2 || last != 14 {
		t.Errorf("quarterP50s(1..16 ms) = %g, %g; want 2, 14", first, last)
	}
	if first, last := quarterP50s(s[:7]); first != 0 || last != 0 {
		t.Errorf("quarterP50s of 7 samples = %g, %g; want 0, 0", first, last)
	}
}

func tableOf(r *Report) string {
	var b strings.Builder
	r.WriteTable(&b)
	return b.String()
}

// The product total adds worker, API, Temporal and PostgreSQL; the harness
// has its own row and stays out of it, unless the bench process also holds
// part of the product (then it is counted, and the table says so).
func TestReportCPURows(t *testing.T) {
	r := &Report{Orders: 10, Events: 4, Triggers: 1, SeparateProcesses: true, Temporal: TemporalOwnProcess,
		Ours: Side{CPU: CPU{Worker: 10, API: 4, Temporal: 30, Postgres: 9, Bench: 2.5}},
		Bare: &Side{CPU: CPU{Temporal: 90, Postgres: 0.2, Bench: 15, BenchHolds: "bare worker"}}}
	tab := tableOf(r)
	for _, want := range []string{"CPU ms/order: Temporal  30.0", "CPU ms/order: product total  53.0", "105",
		"CPU ms/order: bench harness   2.5", "the bench harness (clients, printer, receiver) is not in it",
		"bare: its worker runs in the bench process"} {
		if !strings.Contains(tab, want) {
			t.Errorf("split table lacks %q:\n%s", want, tab)
		}
	}

	one := &Report{Orders: 10, Events: 4, Triggers: 1, Temporal: TemporalBenchProcess,
		Ours: Side{CPU: CPU{Postgres: 7, Bench: 30, BenchHolds: "worker, API, Temporal"}}}
	tab = tableOf(one)
	for _, want := range []string{"CPU ms/order: total measured", "37.0", "CPU ms/order: bench process (worker, API, Temporal, harness)",
		"counted in the total"} {
		if !strings.Contains(tab, want) {
			t.Errorf("one-process table lacks %q:\n%s", want, tab)
		}
	}
	if strings.Contains(tab, "CPU ms/order: Temporal ") {
		t.Errorf("one-process table has a Temporal row of its own:\n%s", tab)
	}
}

// A paced run's table says whether ours kept up with the pace, as the
// goals' search judges a step.
func TestReportPacedVerdict(t *testing.T) {
	r := &Report{Orders: 10, Events: 4, Triggers: 1, Rate: 20, SeparateProcesses: true, Temporal: TemporalOwnProcess,
		Ours: Side{OrdersPerSec: 19, PrinterP50FirstQuarter: 40, PrinterP50LastQuarter: 900}}
	tab := tableOf(r)
	for _, want := range []string{"intake → printer p50 (ms), last quarter   900", "paced at 20 orders/s, ours did not keep up: reached 19.0 orders/s, 95 %"} {
		if !strings.Contains(tab, want) {
			t.Errorf("paced table lacks %q:\n%s", want, tab)
		}
	}
}

// A bare-only run (--bare-only) has no ours and nothing stored: that is no
// loss, while a postback the floor lost still is.
func TestReportBareOnlyLoss(t *testing.T) {
	r := &Report{Orders: 10, Events: 4, Triggers: 1, BareOnly: true, Bare: &Side{OrdersPerSec: 40}}
	if err := r.Lossless(); err != nil {
		t.Fatalf("bare-only run with nothing lost: %v", err)
	}
	if tab := tableOf(r); strings.Contains(tab, "loss") && !strings.Contains(tab, "zero loss") {
		t.Errorf("bare-only table reports a loss:\n%s", tab)
	}
	r.Bare.LostPostbacks = 3
	if err := r.Lossless(); err == nil || !strings.Contains(err.Error(), "bare: ") {
		t.Errorf("bare-only run that lost 3 postbacks: Lossless() = %v, want the bare loss", err)
	}
	r.BareOnly = false
	r.Bare.LostPostbacks = 0
	if err := r.Lossless(); err == nil || !strings.Contains(err.Error(), "stored: ") {
		t.Errorf("a full run with nothing stored: Lossless() = %v, want the stored loss", err)
	}
}
