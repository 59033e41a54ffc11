package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// fakeRuns answers Goals' runs from a table of outcomes by triggers per
// event and pace, recording the options each run was given.
type fakeRuns struct {
	got []Options
	out func(o Options) *Report
}

func (f *fakeRuns) run(_ context.Context, o Options) (*Report, error) {
	f.got = append(f.got, o)
	return f.out(o), nil
}

// side is a lossless side that delivered every postback of o.
func side(o Options, ordersPerSec float64) Side {
	return Side{OrdersPerSec: ordersPerSec, Postbacks: o.Orders * o.Events * o.Triggers}
}

func report(o Options, ours Side, bare *Side) *Report {
	n := o.Orders
	return &Report{Orders: n, Events: o.Events, Triggers: o.Triggers, Rate: o.Rate, SeparateProcesses: true, Ours: ours, Bare: bare,
		Stored: storedCheck{OrdersDelivered: n, PostbacksDelivered: n * o.Events * o.Triggers, WorkflowsCompleted: n}}
}

// keepsUpTo is a fake stack that keeps up with paced rates up to limit
// orders/s and falls behind above it (a queue that grows).
func keepsUpTo(o Options, limit float64) Side {
	if o.Rate <= limit {
		ours := side(o, o.Rate)
		ours.PrinterP50FirstQuarter, ours.PrinterP50LastQuarter = 40, 45
		return ours
	}
	ours := side(o, round1(o.Rate*0.9))
	ours.PrinterP50FirstQuarter, ours.PrinterP50LastQuarter = 40, 900
	return ours
}

// The sequence measures the unpaced capacity, searches the sustained
// (paced) one from half of it up, paces the goals' run at 80 % of the
// sustained one, gives each run its triggers, and holds every figure to
// its target: a figure just past its target is met, one just short is not.
func TestGoalsSequenceAndVerdicts(t *testing.T) {
	f := &fakeRuns{out: func(o Options) *Report {
		switch {
		case o.Triggers == 1 && o.Rate == 0: // capacity: ratio 2.0, product CPU 45.0 (harness 3 apart), RSS 199
			ours := side(o, 30)
			ours.CPU = CPU{Worker: 10, API: 5, Temporal: 20, Postgres: 10, Bench: 3}
			ours.WorkerRSSMiB = 199
			bare := side(o, 15)
			r := report(o, ours, &bare)
			r.Temporal = TemporalOwnProcess
			return r
		case o.Triggers == 1 && o.Orders >= 100: // a search step: keeps up to 19 orders/s
			return report(o, keepsUpTo(o, 19), nil)
		case o.Triggers == 1: // paced: intake p99 just over, the others just under
			ours := side(o, o.Rate)
			ours.Intake.P99, ours.IntakeToPrinter.P99, ours.EventToPostback.P99 = 50.1, 499, 150
			return report(o, ours, nil)
		case o.Triggers == 10: // ratio 1.49: missed
			ours := side(o, 14.9)
			bare := side(o, 10)
			return report(o, ours, &bare)
		default: // 100 triggers: 151 postbacks/s
			ours := side(o, 0.4)
			ours.PostbacksPerSec = 151
			return report(o, ours, nil)
		}
	}}
	var done []string
	rep, err := Goals(context.Background(), GoalOptions{Options: Options{Warmup: 100, Concurrency: 7}, CapacityOrders: 1000,
		PacedOrders: 40, TenOrders: 30, HundredOrders: 3, SearchRefine: 1, run: f.run}, func(r GoalRun) { done = append(done, r.Name) })
	if err != nil {
		t.Fatal(err)
	}
	// search: 15 (half of 30) kept up, 18 kept up, 21 not, 19.5 (bisected) not: sustained 18, paced at 14.4
	wantRuns := "capacity,search at 15 orders/s,search at 18 orders/s,search at 21 orders/s,search at 19.5 orders/s,paced,10 triggers,100 triggers"
	if strings.Join(done, ",") != wantRuns {
		t.Fatalf("runs reported: %v", done)
	}
	want := []struct {
		orders, triggers, warmup int
		rate                     float64
		bare                     bool
	}{{1000, 1, 100, 0, true}, {300, 1, 20, 15, false}, {360, 1, 20, 18, false}, {420, 1, 20, 21, false}, {390, 1, 20, 19.5, false},
		{40, 1, 20, 14.4, false}, {30, 10, 10, 0, true}, {3, 100, 1, 0, false}}
	for i, w := range want {
		g := f.got[i]
		if g.Orders != w.orders || g.Triggers != w.triggers || g.Warmup != w.warmup || g.Rate != w.rate || g.SkipBare == w.bare ||
			g.Events != 4 || g.Concurrency != 7 {
			t.Errorf("run %d options: %+v; want %+v", i, g, w)
		}
	}
	p := rep.Pacing
	if p.UnpacedCapacity != 30 || p.SustainedCapacity != 18 || p.Rate != 14.4 || p.UnpacedShareRate != 24 || len(p.Search) != 4 {
		t.Errorf("pacing: %+v", p)
	}
	met := map[string]bool{}
	for _, g := range rep.Goals {
		met[g.Figure] = g.Met
	}
	for fig, w := range map[string]bool{
		"ours/bare orders/s, 4 events × 1 trigger":         true,
		"ours/bare orders/s, 4 events × 10 triggers":       false,
		"postbacks/s, 4 events × 100 triggers":             true,
		"intake p99 (ms), paced":                           false,
		"intake → printer p99 (ms), paced":                 true,
		"event → postback p99 (ms), paced":                 true,
		"CPU ms/order, worker + API + Temporal + Postgres": true,
		"worker RSS peak (MiB) at 1000 orders":             true,
	} {
		got, ok := met[fig]
		if !ok || got != w {
			t.Errorf("%s: met %v (present %v), want %v", fig, got, ok, w)
		}
	}
	var table strings.Builder
	rep.WriteTable(&table)
	for _, s := range []string{"6 of 8 met", "1.49 (ours 14.9, bare 10.0 orders/s)",
		"45.0 (worker 10.0, API 5.0, Temporal 20.0, Postgres 10.0; harness apart, not counted: 3.0)",
		"unpaced capacity: 30.0 orders/s", "80 % of it: 24 orders/s",
		"sustained (paced) capacity: 18.0 orders/s", "at 14.4 orders/s, 80 % of the sustained capacity 18.0"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
}

// With --paced-basis unpaced the paced run is at 80 % of the capacity run,
// with no search (the first reading).
func TestGoalsPacedOnUnpacedBasis(t *testing.T) {
	f := &fakeRuns{out: func(o Options) *Report {
		if o.Rate == 0 {
			ours, bare := side(o, 20), side(o, 10)
			return report(o, ours, &bare)
		}
		return report(o, side(o, o.Rate), nil)
	}}
	rep, err := Goals(context.Background(), GoalOptions{CapacityOrders: 10, PacedOrders: 10, TenOrders: 1, HundredOrders: 1,
		PacedBasis: PacedUnpaced, run: f.run}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 4 || f.got[1].Rate != 16 || len(rep.Pacing.Search) != 0 {
		t.Fatalf("runs %d, paced at %g, %d search steps; want 4 runs, paced at 16, no search", len(f.got), f.got[1].Rate, len(rep.Pacing.Search))
	}
}

// --paced-unpaced-run adds a paced run at 80 % of the unpaced capacity
// after the goals' paced run, and the table prints what it gave.
func TestGoalsPacedUnpacedRun(t *testing.T) {
	f := &fakeRuns{out: func(o Options) *Report {
		if o.Rate == 0 {
			ours, bare := side(o, 20), side(o, 10)
			return report(o, ours, &bare)
		}
		r := report(o, keepsUpTo(o, 12), nil)
		r.Ours.Intake.P99 = 10 * o.Rate
		return r
	}}
	rep, err := Goals(context.Background(), GoalOptions{CapacityOrders: 10, PacedOrders: 10, TenOrders: 1, HundredOrders: 1,
		PacedUnpacedRun: true, run: f.run}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// capacity, search 10 (kept up) and 12 (kept up) and 14 (not), paced at 9.6, paced at 16, 10 and 100 triggers
	var rates []float64
	for _, g := range f.got {
		rates = append(rates, g.Rate)
	}
	if fmt.Sprint(rates) != "[0 10 12 14 9.6 16 0 0]" {
		t.Fatalf("rates run: %v", rates)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "paced at 16 orders/s (80 % of the unpaced capacity, for reference, no goal): reached 14.4 orders/s, intake p99 160 ms") {
		t.Errorf("table:\n%s", table.String())
	}
}

// A step keeps up when it reached 97 % of the offered rate and its
// intake → printer median did not grow through the run (more than 2× and
// more than 100 ms).
func TestKeptUp(t *testing.T) {
	for _, c := range []struct {
		rate, reached, first, last float64
		want                       bool
	}{
		{20, 19.4, 40, 45, true},      // 97 %
		{20, 19.3, 40, 45, false},     // 96.5 %
		{20, 20, 40, 130, true},       // over 2×, but only 90 ms more
		{20, 20, 40, 141, false},      // over 2× and over 100 ms more
		{20, 20, 300, 550, true},      // 250 ms more, but under 2×
		{20, 20, 300, 650, false},     // over 2× and over 100 ms
		{20, 19.9, 1000, 9000, false}, // a queue that grows, throughput not yet lost
	} {
		got, why := KeptUp(c.rate, c.reached, c.first, c.last)
		if got != c.want || why == "" {
			t.Errorf("KeptUp(%g, %g, %g, %g) = %v (%s), want %v", c.rate, c.reached, c.first, c.last, got, why, c.want)
		}
	}
}

// The search's rates: up by a step while all keep up, down while none
// does, then bisect between the highest kept up and the lowest not.
func TestSearchPlan(t *testing.T) {
	kept := func(s []SearchStep, rates ...float64) []SearchStep {
		for _, r := range rates {
			s = append(s, SearchStep{Rate: r, KeptUp: true})
		}
		return s
	}
	not := func(s []SearchStep, rates ...float64) []SearchStep {
		for _, r := range rates {
			s = append(s, SearchStep{Rate: r})
		}
		return s
	}
	p := searchPlan{start: 0.5, step: 0.1, max: 1, refine: 1}
	for _, c := range []struct {
		name  string
		plan  searchPlan
		steps []SearchStep
		rate  float64
		more  bool
	}{
		{"first at half the capacity", p, nil, 15, true},
		{"all kept up: step up", p, kept(nil, 15, 18), 21, true},
		{"capped at the unpaced capacity", p, kept(nil, 15, 18, 21, 24, 27), 30, true},
		{"the unpaced capacity kept up: done", p, kept(nil, 15, 18, 21, 24, 27, 30), 0, false},
		{"a cap above the unpaced capacity", searchPlan{0.5, 0.1, 1.2, 1}, kept(nil, 15, 18, 21, 24, 27, 30), 33, true},
		{"capped at 1.2 of it", searchPlan{0.5, 0.1, 1.2, 1}, kept(nil, 30, 33), 36, true},
		{"1.2 of it kept up: done", searchPlan{0.5, 0.1, 1.2, 1}, kept(nil, 30, 33, 36), 0, false},
		{"none kept up: step down", p, not(nil, 15), 12, true},
		{"none kept up down to one step: done", p, not(nil, 15, 12, 9, 6, 3), 0, false},
		{"bracketed: bisect", p, not(kept(nil, 15, 18), 21), 19.5, true},
		{"bracketed going down: bisect", p, kept(not(nil, 15), 12), 13.5, true},
		{"one bisection done", p, not(not(kept(nil, 15, 18), 21), 19.5), 0, false},
		{"two bisections", searchPlan{0.5, 0.1, 1, 2}, not(not(kept(nil, 15, 18), 21), 19.5), 18.8, true},
		{"no bisection", searchPlan{0.5, 0.1, 1, 0}, not(kept(nil, 15, 18), 21), 0, false},
		{"a lower rate failed (noise): the highest kept up counts", p, not(kept(nil, 18), 15), 21, true},
		{"bracket closed to 0.1 orders/s: done", searchPlan{0.5, 0.1, 1, 5}, not(kept(nil, 18), 18.1), 0, false},
	} {
		rate, more := c.plan.next(30, c.steps)
		if rate != c.rate || more != c.more {
			t.Errorf("%s: next = %g, %v; want %g, %v", c.name, rate, more, c.rate, c.more)
		}
	}
}

// A run that loses a postback ends the sequence with an error naming it.
func TestGoalsStopOnLoss(t *testing.T) {
	f := &fakeRuns{out: func(o Options) *Report {
		ours := side(o, 20)
		bare := side(o, 10)
		r := report(o, ours, &bare)
		if o.Rate > 0 {
			r.Ours.LostPostbacks = 1
		}
		return r
	}}
	rep, err := Goals(context.Background(), GoalOptions{CapacityOrders: 10, PacedOrders: 10, TenOrders: 1, HundredOrders: 1, run: f.run}, nil)
	if err == nil || !strings.Contains(err.Error(), "search at 10 orders/s run") || !strings.Contains(err.Error(), "1 postbacks lost") {
		t.Fatalf("err = %v, want the first paced run's loss (the search's first step)", err)
	}
	if len(f.got) != 2 || len(rep.Runs) != 2 {
		t.Fatalf("ran %d runs after a loss, want it to stop at the second", len(f.got))
	}
}
