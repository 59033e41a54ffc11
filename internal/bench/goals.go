package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// The goals of issue 14, as `orderintake bench goals` measures them.
const (
	GoalRatio1         = 1.8 // ours/bare orders/s, 4 events × 1 trigger
	GoalRatio10        = 1.5 // ours/bare orders/s, 4 events × 10 triggers
	GoalPostbacks100   = 150 // postbacks/s at 100 triggers per event
	GoalIntakeP99      = 50  // ms, paced at 80 % of capacity
	GoalPrinterP99     = 500 // ms, intake → printer, paced
	GoalPostbackP99    = 150 // ms, event → postback, paced
	GoalCPUPerOrder    = 45  // ms over all processes
	GoalWorkerRSS      = 200 // MiB peak
	GoalWorkerRSSAtN   = 1000
	defaultPacedShare  = 0.8
	goalEvents         = 4
	defaultCapOrders   = 1000
	defaultTenOrders   = 150
	defaultHundOrders  = 20
	defaultPacedOrders = 400
)

// GoalOptions configure Goals. The embedded Options carry the stack, the
// product and the clients; each run sets its own orders, triggers and pace.
type GoalOptions struct {
	Options
	// CapacityOrders run unpaced with 1 trigger per event, against the bare
	// floor: the ratio, the capacity the paced run is set from, CPU per
	// order and the worker's RSS (default 1000, after Options.Warmup).
	CapacityOrders int
	// TenOrders run unpaced with 10 triggers per event, against the bare
	// floor (default 150).
	TenOrders int
	// HundredOrders run unpaced with 100 triggers per event, ours only:
	// postbacks/s (default 20, 8000 postbacks).
	HundredOrders int
	// PacedOrders run paced at PacedShare of the capacity run's orders/s,
	// ours only: the latencies (default 400).
	PacedOrders int
	PacedShare  float64 // default 0.8

	// run is Run; tests replace it to check the sequence.
	run func(context.Context, Options) (*Report, error)
}

// Goal is one figure of the issue: its target, what was measured, met or not.
type Goal struct {
	Figure   string  `json:"figure"`
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Detail   string  `json:"detail,omitempty"`
	Met      bool    `json:"met"`
	// Run is the run the figure comes from.
	Run string `json:"run"`
}

// GoalRun is one run of the sequence.
type GoalRun struct {
	Name   string  `json:"name"`
	Report *Report `json:"report"`
}

// GoalReport is one `orderintake bench goals`.
type GoalReport struct {
	Runs     []GoalRun `json:"runs"`
	Goals    []Goal    `json:"goals"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// Met counts the goals met.
func (g *GoalReport) Met() int {
	n := 0
	for _, x := range g.Goals {
		if x.Met {
			n++
		}
	}
	return n
}

func (o *GoalOptions) goalDefaults() {
	if o.CapacityOrders <= 0 {
		o.CapacityOrders = defaultCapOrders
	}
	if o.TenOrders <= 0 {
		o.TenOrders = defaultTenOrders
	}
	if o.HundredOrders <= 0 {
		o.HundredOrders = defaultHundOrders
	}
	if o.PacedOrders <= 0 {
		o.PacedOrders = defaultPacedOrders
	}
	if o.PacedShare <= 0 || o.PacedShare > 1 {
		o.PacedShare = defaultPacedShare
	}
	if o.run == nil {
		o.run = Run
	}
}

// Goals runs the sequence: capacity (4 events × 1 trigger, unpaced, with
// the bare floor), paced at 80 % of the capacity it measured, 10 triggers
// per event (with the floor), 100 triggers per event; then holds each
// figure to its target. Any run that loses an order or a postback ends it
// with an error (after the runs so far are reported through done).
func Goals(ctx context.Context, o GoalOptions, done func(GoalRun)) (*GoalReport, error) {
	o.goalDefaults()
	rep := &GoalReport{Started: time.Now().UTC()}
	warm := o.Warmup
	step := func(name string, orders, triggers, warmup int, rate float64, bare bool) (*Report, error) {
		ro := o.Options
		ro.Orders, ro.Events, ro.Triggers, ro.Warmup, ro.Rate, ro.SkipBare, ro.BareOnly = orders, goalEvents, triggers, warmup, rate, !bare, false
		r, err := o.run(ctx, ro)
		if err != nil {
			return nil, fmt.Errorf("bench goals: %s run: %w", name, err)
		}
		gr := GoalRun{Name: name, Report: r}
		rep.Runs = append(rep.Runs, gr)
		if done != nil {
			done(gr)
		}
		if err := r.Lossless(); err != nil {
			return nil, fmt.Errorf("bench goals: %s run: %w", name, err)
		}
		return r, nil
	}
	capacity, err := step("capacity", o.CapacityOrders, 1, warm, 0, true)
	if err != nil {
		return rep, err
	}
	if capacity.Ours.OrdersPerSec <= 0 {
		return rep, errors.New("bench goals: the capacity run measured no orders/s to pace the next run at")
	}
	rate := math.Round(capacity.Ours.OrdersPerSec*o.PacedShare*10) / 10
	paced, err := step("paced", o.PacedOrders, 1, min(warm, 20), rate, false)
	if err != nil {
		return rep, err
	}
	ten, err := step("10 triggers", o.TenOrders, 10, min(warm, 10), 0, true)
	if err != nil {
		return rep, err
	}
	hundred, err := step("100 triggers", o.HundredOrders, 100, min(warm, 1), 0, false)
	if err != nil {
		return rep, err
	}
	rep.Goals = evaluateGoals(capacity, paced, ten, hundred, o.PacedShare)
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// evaluateGoals holds each run's figures to the targets.
func evaluateGoals(capacity, paced, ten, hundred *Report, share float64) []Goal {
	ratioOf := func(r *Report) float64 {
		if r.Bare == nil || r.Bare.OrdersPerSec <= 0 {
			return 0
		}
		return math.Round(r.Ours.OrdersPerSec/r.Bare.OrdersPerSec*100) / 100
	}
	ratioDetail := func(r *Report) string {
		if r.Bare == nil {
			return "no bare floor"
		}
		return fmt.Sprintf("ours %s, bare %s orders/s", num(r.Ours.OrdersPerSec), num(r.Bare.OrdersPerSec))
	}
	atLeast := func(fig, run string, target, v float64, detail string) Goal {
		return Goal{Figure: fig, Target: "≥ " + trimNum(target), Measured: v, Detail: detail, Met: v >= target, Run: run}
	}
	atMost := func(fig, run string, target, v float64, detail string) Goal {
		return Goal{Figure: fig, Target: "≤ " + trimNum(target), Measured: v, Detail: detail, Met: v > 0 && v <= target, Run: run}
	}
	pace := fmt.Sprintf("at %g orders/s (%.0f %% of %s)", paced.Rate, share*100, num(capacity.Ours.OrdersPerSec))
	c := capacity.Ours.CPU
	cpu := c.Total()
	cpuDetail := fmt.Sprintf("worker %s, API %s, Temporal+bench %s, Postgres %s", num(c.Worker), num(c.API), num(c.Bench), num(c.Postgres))
	if !capacity.SeparateProcesses {
		cpuDetail = fmt.Sprintf("one process (worker, API, Temporal, bench) %s, Postgres %s", num(c.Bench), num(c.Postgres))
	}
	rss := Goal{Figure: fmt.Sprintf("worker RSS peak (MiB) at %d orders", capacity.Orders), Target: "≤ " + trimNum(GoalWorkerRSS),
		Measured: capacity.Ours.WorkerRSSMiB, Run: "capacity"}
	rss.Met = rss.Measured > 0 && rss.Measured <= GoalWorkerRSS && capacity.Orders >= GoalWorkerRSSAtN
	switch {
	case !capacity.SeparateProcesses:
		rss.Met, rss.Detail = false, "worker and API ran in one process (--in-process): not the worker's own"
	case capacity.Orders < GoalWorkerRSSAtN:
		rss.Detail = fmt.Sprintf("the goal is at %d orders", GoalWorkerRSSAtN)
	}
	return []Goal{
		atLeast("ours/bare orders/s, 4 events × 1 trigger", "capacity", GoalRatio1, ratioOf(capacity), ratioDetail(capacity)),
		atLeast("ours/bare orders/s, 4 events × 10 triggers", "10 triggers", GoalRatio10, ratioOf(ten), ratioDetail(ten)),
		atLeast("postbacks/s, 4 events × 100 triggers", "100 triggers", GoalPostbacks100, hundred.Ours.PostbacksPerSec,
			fmt.Sprintf("%d postbacks in %.1fs", hundred.Ours.Postbacks, hundred.Ours.ElapsedSec)),
		atMost("intake p99 (ms), paced", "paced", GoalIntakeP99, paced.Ours.Intake.P99, pace),
		atMost("intake → printer p99 (ms), paced", "paced", GoalPrinterP99, paced.Ours.IntakeToPrinter.P99, pace),
		atMost("event → postback p99 (ms), paced", "paced", GoalPostbackP99, paced.Ours.EventToPostback.P99, pace),
		atMost("CPU ms/order, all processes", "capacity", GoalCPUPerOrder, cpu, cpuDetail),
		rss,
	}
}

// Total is the CPU per order over every process measured.
func (c CPU) Total() float64 {
	return math.Round((c.Worker+c.API+c.Bench+c.Postgres)*10) / 10
}

func trimNum(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", v), ".0") }

// WriteTable prints the goals as one table: figure, target, measured, met.
func (g *GoalReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "orderintake bench goals: %d of %d met", g.Met(), len(g.Goals))
	if len(g.Runs) > 0 {
		m := g.Runs[0].Report.Machine
		fmt.Fprintf(w, "; %d CPUs, load average %.2f at start, took %s", m.CPUs, m.Load1, g.Finished.Sub(g.Started).Round(time.Second))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\ttarget\tmeasured\tmet\tfrom\t")
	for _, x := range g.Goals {
		met := "no"
		if x.Met {
			met = "yes"
		}
		m := num(x.Measured)
		if x.Measured < 10 { // ratios: 1.49 is not 1.5
			m = fmt.Sprintf("%.2f", x.Measured)
		}
		if x.Detail != "" {
			m += " (" + x.Detail + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s run\t\n", x.Figure, x.Target, m, met, x.Run)
	}
	tw.Flush()
}
