package bench

import (
	"context"
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

// The sequence paces its second run at 80 % of what the first measured,
// gives each run its triggers, and holds every figure to its target: a
// figure just past its target is met, one just short is not.
func TestGoalsSequenceAndVerdicts(t *testing.T) {
	f := &fakeRuns{out: func(o Options) *Report {
		switch {
		case o.Triggers == 1 && o.Rate == 0: // capacity: ratio 2.0, CPU 45.0 in all, RSS 199
			ours := side(o, 30)
			ours.CPU = CPU{Worker: 10, API: 5, Bench: 20, Postgres: 10}
			ours.WorkerRSSMiB = 199
			bare := side(o, 15)
			return report(o, ours, &bare)
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
		PacedOrders: 40, TenOrders: 30, HundredOrders: 3, run: f.run}, func(r GoalRun) { done = append(done, r.Name) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(done, ",") != "capacity,paced,10 triggers,100 triggers" {
		t.Fatalf("runs reported: %v", done)
	}
	want := []struct {
		orders, triggers, warmup int
		rate                     float64
		bare                     bool
	}{{1000, 1, 100, 0, true}, {40, 1, 20, 24, false}, {30, 10, 10, 0, true}, {3, 100, 1, 0, false}}
	for i, w := range want {
		g := f.got[i]
		if g.Orders != w.orders || g.Triggers != w.triggers || g.Warmup != w.warmup || g.Rate != w.rate || g.SkipBare == w.bare ||
			g.Events != 4 || g.Concurrency != 7 {
			t.Errorf("run %d options: %+v; want %+v", i, g, w)
		}
	}
	met := map[string]bool{}
	for _, g := range rep.Goals {
		met[g.Figure] = g.Met
	}
	for fig, w := range map[string]bool{
		"ours/bare orders/s, 4 events × 1 trigger":   true,
		"ours/bare orders/s, 4 events × 10 triggers": false,
		"postbacks/s, 4 events × 100 triggers":       true,
		"intake p99 (ms), paced":                     false,
		"intake → printer p99 (ms), paced":           true,
		"event → postback p99 (ms), paced":           true,
		"CPU ms/order, all processes":                true,
		"worker RSS peak (MiB) at 1000 orders":       true,
	} {
		got, ok := met[fig]
		if !ok || got != w {
			t.Errorf("%s: met %v (present %v), want %v", fig, got, ok, w)
		}
	}
	var table strings.Builder
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "6 of 8 met") || !strings.Contains(table.String(), "1.49 (ours 14.9, bare 10.0 orders/s)") {
		t.Errorf("table:\n%s", table.String())
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
	if err == nil || !strings.Contains(err.Error(), "paced run") || !strings.Contains(err.Error(), "1 postbacks lost") {
		t.Fatalf("err = %v, want the paced run's loss", err)
	}
	if len(f.got) != 2 || len(rep.Runs) != 2 {
		t.Fatalf("ran %d runs after a loss, want it to stop at the second", len(f.got))
	}
}
