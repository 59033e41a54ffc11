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

	// The sustained (paced) capacity search: see KeptUp.
	KeepUpThroughput   = 0.97 // orders/s end to end at least this share of the offered rate
	KeepUpGrowth       = 2.0  // last quarter's intake → printer p50 at most this × the first's …
	KeepUpGrowthMs     = 100  // … or at most this many ms above it
	defaultSearchStart = 0.5  // first rate tried, as a share of the unpaced capacity
	defaultSearchStep  = 0.1  // step up (or down), as a share of the unpaced capacity
	defaultSearchMax   = 1.0  // highest rate tried, as a share of the unpaced capacity
	defaultSearchSecs  = 20   // seconds of intake per step
	defaultSearchMin   = 100  // orders per step at least
	defaultRefine      = 1    // bisections between the last rate kept up and the first not
	// PacedSustained and PacedUnpaced are what the paced run's rate is a
	// share of (GoalOptions.PacedBasis).
	PacedSustained = "sustained"
	PacedUnpaced   = "unpaced"
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
	// PacedBasis is the capacity PacedShare is taken of: PacedSustained
	// (default: the highest paced rate the search found the stack keeps up
	// with) or PacedUnpaced (the capacity run's orders/s, no search).
	PacedBasis string
	// The search for the sustained capacity: rates from SearchStart of the
	// unpaced capacity up (or down) by SearchStep of it, then SearchRefine
	// bisections (0: none; the command's default is 1); each step
	// SearchSeconds of intake (at least SearchMinOrders orders).
	SearchStart, SearchStep float64
	// SearchMax caps the rates tried, as a share of the unpaced capacity
	// (default 1: paced costs more CPU per order than unpaced, so a quiet
	// machine never sustains more; a run whose capacity run was slowed by
	// other work may, and reports the cap as a lower bound).
	SearchMax       float64
	SearchSeconds   float64
	SearchMinOrders int
	SearchRefine    int
	// PacedUnpacedRun also runs PacedOrders at PacedShare of the unpaced
	// capacity (with the sustained basis), to show what that rate gives.
	PacedUnpacedRun bool

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
	// Step is the run's verdict when it is a step of the capacity search.
	Step *SearchStep `json:"searchStep,omitempty"`
}

// SearchStep is one paced rate the sustained-capacity search tried.
type SearchStep struct {
	Rate         float64 `json:"rate"` // offered, orders/s
	Orders       int     `json:"orders"`
	OrdersPerSec float64 `json:"ordersPerSec"` // reached end to end
	// intake → printer medians of the first and last quarter of the orders
	FirstQuarterP50 float64 `json:"intakeToPrinterP50FirstQuarterMs"`
	LastQuarterP50  float64 `json:"intakeToPrinterP50LastQuarterMs"`
	KeptUp          bool    `json:"keptUp"`
	Why             string  `json:"why"`
}

// Pacing is how the paced run's rate was set.
type Pacing struct {
	// UnpacedCapacity is the capacity run's orders/s (no pacing: the
	// server and SDK batch, so an order costs less CPU than paced).
	UnpacedCapacity float64 `json:"unpacedCapacity"`
	// SustainedCapacity is the highest paced rate that kept up (0: none
	// did, or no search ran).
	SustainedCapacity float64      `json:"sustainedCapacity,omitempty"`
	Search            []SearchStep `json:"search,omitempty"`
	Basis             string       `json:"basis"`
	Share             float64      `json:"share"`
	// SearchCap is the highest rate the search would try (SearchMax of the
	// unpaced capacity): a sustained capacity there is a lower bound.
	SearchCap float64 `json:"searchCap,omitempty"`
	Rate      float64 `json:"rate"` // the paced run's
	// UnpacedShareRate is Share of the unpaced capacity: the rate the paced
	// run would have had on that basis.
	UnpacedShareRate float64 `json:"unpacedShareRate"`
	// AtUnpacedShare is what a paced run at UnpacedShareRate measured
	// (GoalOptions.PacedUnpacedRun; for reference, no goal is held to it).
	AtUnpacedShare *Side `json:"atUnpacedShare,omitempty"`
}

// GoalReport is one `orderintake bench goals`.
type GoalReport struct {
	Runs     []GoalRun `json:"runs"`
	Pacing   *Pacing   `json:"pacing,omitempty"`
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
	if o.PacedBasis == "" {
		o.PacedBasis = PacedSustained
	}
	if o.SearchStart <= 0 {
		o.SearchStart = defaultSearchStart
	}
	if o.SearchStep <= 0 {
		o.SearchStep = defaultSearchStep
	}
	if o.SearchMax <= 0 {
		o.SearchMax = defaultSearchMax
	}
	if o.SearchSeconds <= 0 {
		o.SearchSeconds = defaultSearchSecs
	}
	if o.SearchMinOrders <= 0 {
		o.SearchMinOrders = defaultSearchMin
	}
	o.SearchRefine = max(o.SearchRefine, 0)
	if o.run == nil {
		o.run = Run
	}
}

// Goals runs the sequence: capacity (4 events × 1 trigger, unpaced, with
// the bare floor), the search for the sustained (paced) capacity, paced at
// PacedShare of it, 10 triggers per event (with the floor), 100 triggers
// per event; then holds each figure to its target. Any run that loses an
// order or a postback ends it with an error (after the runs so far are
// reported through done).
func Goals(ctx context.Context, o GoalOptions, done func(GoalRun)) (*GoalReport, error) {
	o.goalDefaults()
	if o.PacedBasis != PacedSustained && o.PacedBasis != PacedUnpaced {
		return nil, fmt.Errorf("bench goals: paced basis %q: want %s or %s", o.PacedBasis, PacedSustained, PacedUnpaced)
	}
	rep := &GoalReport{Started: time.Now().UTC()}
	warm := o.Warmup
	step := func(name string, orders, triggers, warmup int, rate float64, bare bool, judge func(*Report) *SearchStep) (*Report, error) {
		ro := o.Options
		ro.Orders, ro.Events, ro.Triggers, ro.Warmup, ro.Rate, ro.SkipBare, ro.BareOnly = orders, goalEvents, triggers, warmup, rate, !bare, false
		r, err := o.run(ctx, ro)
		if err != nil {
			return nil, fmt.Errorf("bench goals: %s run: %w", name, err)
		}
		gr := GoalRun{Name: name, Report: r}
		if judge != nil {
			gr.Step = judge(r)
		}
		rep.Runs = append(rep.Runs, gr)
		if done != nil {
			done(gr)
		}
		if err := r.Lossless(); err != nil {
			return nil, fmt.Errorf("bench goals: %s run: %w", name, err)
		}
		return r, nil
	}
	capacity, err := step("capacity", o.CapacityOrders, 1, warm, 0, true, nil)
	if err != nil {
		return rep, err
	}
	if capacity.Ours.OrdersPerSec <= 0 {
		return rep, errors.New("bench goals: the capacity run measured no orders/s to pace the next run at")
	}
	unpaced := capacity.Ours.OrdersPerSec
	p := &Pacing{UnpacedCapacity: unpaced, Basis: o.PacedBasis, Share: o.PacedShare, UnpacedShareRate: round1(unpaced * o.PacedShare)}
	rep.Pacing = p
	basis := unpaced
	if o.PacedBasis == PacedSustained {
		plan := searchPlan{start: o.SearchStart, step: o.SearchStep, max: o.SearchMax, refine: o.SearchRefine}
		for {
			rate, more := plan.next(unpaced, p.Search)
			if !more {
				break
			}
			n := max(o.SearchMinOrders, int(math.Round(rate*o.SearchSeconds)))
			var verdict SearchStep
			_, err := step(fmt.Sprintf("search at %g orders/s", rate), n, 1, min(warm, 20), rate, false, func(r *Report) *SearchStep {
				verdict = judgeStep(rate, r)
				return &verdict
			})
			if err != nil {
				return rep, err
			}
			p.Search = append(p.Search, verdict)
		}
		p.SustainedCapacity = sustained(p.Search)
		p.SearchCap = round1(o.SearchMax * unpaced)
		basis = p.SustainedCapacity
		if basis <= 0 { // none kept up: pace at the share of the lowest rate tried, and say so
			basis = p.Search[0].Rate
			for _, s := range p.Search {
				basis = min(basis, s.Rate)
			}
		}
	}
	p.Rate = round1(basis * o.PacedShare)
	paced, err := step("paced", o.PacedOrders, 1, min(warm, 20), p.Rate, false, nil)
	if err != nil {
		return rep, err
	}
	if o.PacedUnpacedRun && o.PacedBasis == PacedSustained {
		r, err := step(fmt.Sprintf("paced at %.0f %% of unpaced", o.PacedShare*100), o.PacedOrders, 1, min(warm, 20), p.UnpacedShareRate, false, nil)
		if err != nil {
			return rep, err
		}
		p.AtUnpacedShare = &r.Ours
	}
	ten, err := step("10 triggers", o.TenOrders, 10, min(warm, 10), 0, true, nil)
	if err != nil {
		return rep, err
	}
	hundred, err := step("100 triggers", o.HundredOrders, 100, min(warm, 1), 0, false, nil)
	if err != nil {
		return rep, err
	}
	rep.Goals = evaluateGoals(capacity, paced, ten, hundred, p)
	rep.Finished = time.Now().UTC()
	return rep, nil
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// KeptUp is the search's verdict on one paced step: the stack kept up
// with the offered rate when (1) orders/s end to end (orders over the time
// from the first submission to the last postback) reached at least
// KeepUpThroughput of the rate, and (2) intake → printer did not grow
// through the run: the median of the last quarter of the orders (by when
// they were due) is at most KeepUpGrowth × the first quarter's, or at most
// KeepUpGrowthMs above it. A queue that builds fails (2) before it costs
// enough throughput to fail (1).
func KeptUp(rate, reached, firstP50, lastP50 float64) (ok bool, why string) {
	if reached < KeepUpThroughput*rate {
		return false, fmt.Sprintf("reached %s orders/s, %.0f %% of the offered rate (< %.0f %%)", num(reached), reached/rate*100, KeepUpThroughput*100)
	}
	if lastP50 > KeepUpGrowth*firstP50 && lastP50-firstP50 > KeepUpGrowthMs {
		return false, fmt.Sprintf("intake → printer p50 grew from %s ms (first quarter) to %s ms (last quarter)", num(firstP50), num(lastP50))
	}
	return true, fmt.Sprintf("reached %.0f %% of the offered rate; intake → printer p50 %s ms (first quarter), %s ms (last quarter)",
		reached/rate*100, num(firstP50), num(lastP50))
}

func judgeStep(rate float64, r *Report) SearchStep {
	s := SearchStep{Rate: rate, Orders: r.Orders, OrdersPerSec: r.Ours.OrdersPerSec,
		FirstQuarterP50: r.Ours.PrinterP50FirstQuarter, LastQuarterP50: r.Ours.PrinterP50LastQuarter}
	s.KeptUp, s.Why = KeptUp(rate, s.OrdersPerSec, s.FirstQuarterP50, s.LastQuarterP50)
	return s
}

// sustained is the highest rate of the steps that kept up (0: none).
func sustained(steps []SearchStep) float64 {
	best := 0.0
	for _, s := range steps {
		if s.KeptUp {
			best = max(best, s.Rate)
		}
	}
	return best
}

// searchPlan picks the search's rates: start (a share of the unpaced
// capacity), then up by step while every rate keeps up (to max of the
// unpaced capacity at most), or down by step while none does (until a step would
// go below one step); once a rate that kept up lies below one that did
// not, refine bisections between the two, to 0.1 orders/s.
type searchPlan struct {
	start, step, max float64
	refine           int
}

// next is the next rate to try after steps (more false: the search is done).
func (p searchPlan) next(capacity float64, steps []SearchStep) (rate float64, more bool) {
	stepRate := p.step * capacity
	if len(steps) == 0 {
		return round1(p.start * capacity), true
	}
	pass := sustained(steps)
	fail := math.Inf(1) // the lowest rate above pass that did not keep up
	for _, s := range steps {
		if !s.KeptUp && s.Rate > pass {
			fail = min(fail, s.Rate)
		}
	}
	switch {
	case pass == 0: // nothing kept up yet: step down
		low := steps[0].Rate
		for _, s := range steps {
			low = min(low, s.Rate)
		}
		r := round1(low - stepRate)
		if r < round1(stepRate) {
			return 0, false
		}
		return r, true
	case math.IsInf(fail, 1): // everything kept up so far: step up, to the cap at most
		limit := round1(p.max * capacity)
		if pass >= limit {
			return 0, false
		}
		return min(round1(pass+stepRate), limit), true
	}
	// Bracketed: bisect, refine times after the step that first bracketed.
	bracketed := 0
	for i := range steps {
		if sub := steps[:i+1]; sustained(sub) > 0 && hasFailAbove(sub, sustained(sub)) {
			bracketed = i
			break
		}
	}
	if len(steps)-1-bracketed >= p.refine {
		return 0, false
	}
	mid := round1((pass + fail) / 2)
	if mid <= pass || mid >= fail {
		return 0, false
	}
	return mid, true
}

func hasFailAbove(steps []SearchStep, rate float64) bool {
	for _, s := range steps {
		if !s.KeptUp && s.Rate > rate {
			return true
		}
	}
	return false
}

// evaluateGoals holds each run's figures to the targets.
func evaluateGoals(capacity, paced, ten, hundred *Report, p *Pacing) []Goal {
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
	pace := p.describe()
	cpu := cpuGoal(capacity)
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
		cpu,
		rss,
	}
}

// describe says what rate the paced run had and what it is a share of.
func (p *Pacing) describe() string {
	share := fmt.Sprintf("%.0f %%", p.Share*100)
	switch {
	case p.Basis == PacedUnpaced:
		return fmt.Sprintf("at %g orders/s, %s of the unpaced capacity %s", p.Rate, share, num(p.UnpacedCapacity))
	case p.SustainedCapacity <= 0:
		return fmt.Sprintf("at %g orders/s, %s of the lowest rate tried: no paced rate kept up", p.Rate, share)
	}
	return fmt.Sprintf("at %g orders/s, %s of the sustained capacity %s", p.Rate, share, num(p.SustainedCapacity))
}

// cpuGoal is the CPU goal: the product's processes (worker, API, Temporal
// server, PostgreSQL), with the harness beside it, not in it.
func cpuGoal(capacity *Report) Goal {
	c := capacity.Ours.CPU
	g := Goal{Figure: "CPU ms/order, worker + API + Temporal + Postgres", Target: "≤ " + trimNum(GoalCPUPerOrder), Measured: c.Product(),
		Run: "capacity"}
	g.Met = g.Measured > 0 && g.Measured <= GoalCPUPerOrder
	switch {
	case capacity.Temporal == TemporalExternal:
		g.Met = false
		g.Detail = fmt.Sprintf("Temporal external (--temporal-address), not measured: worker %s, API %s, Postgres %s; harness %s",
			num(c.Worker), num(c.API), num(c.Postgres), num(c.Bench))
		if c.BenchHolds != "" {
			g.Detail = fmt.Sprintf("Temporal external (--temporal-address), not measured: one process (%s, harness) %s, Postgres %s",
				c.BenchHolds, num(c.Bench), num(c.Postgres))
		}
	case c.BenchHolds == "":
		g.Detail = fmt.Sprintf("worker %s, API %s, Temporal %s, Postgres %s; harness apart, not counted: %s",
			num(c.Worker), num(c.API), num(c.Temporal), num(c.Postgres), num(c.Bench))
	case capacity.SeparateProcesses:
		g.Detail = fmt.Sprintf("worker %s, API %s, Temporal + harness %s (one process, counted), Postgres %s",
			num(c.Worker), num(c.API), num(c.Bench), num(c.Postgres))
	default:
		g.Detail = fmt.Sprintf("one process (worker, API, Temporal, harness: counted) %s, Postgres %s", num(c.Bench), num(c.Postgres))
	}
	return g
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
	if g.Pacing != nil {
		g.writePacing(w)
	}
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

// writePacing prints the two capacities and the search's steps above the
// goals: the paced goals run at a share of the sustained one.
func (g *GoalReport) writePacing(w io.Writer) {
	p := g.Pacing
	share := fmt.Sprintf("%.0f %%", p.Share*100)
	fmt.Fprintf(w, "unpaced capacity: %s orders/s (capacity run, clients send when answered; %s of it: %g orders/s)\n",
		num(p.UnpacedCapacity), share, p.UnpacedShareRate)
	if p.Basis == PacedUnpaced {
		fmt.Fprintf(w, "paced runs at %s of the unpaced capacity: %g orders/s (--paced-basis unpaced: no search)\n", share, p.Rate)
		return
	}
	if p.SustainedCapacity > 0 {
		capped := ""
		if p.SustainedCapacity >= p.SearchCap {
			capped = fmt.Sprintf(" (the search's cap, %.0f %% of the unpaced capacity: at least this)", p.SearchCap/p.UnpacedCapacity*100)
		}
		fmt.Fprintf(w, "sustained (paced) capacity: %s orders/s%s, the highest paced rate that kept up; the paced goals run at %s of it: %g orders/s\n",
			num(p.SustainedCapacity), capped, share, p.Rate)
	} else {
		fmt.Fprintf(w, "sustained (paced) capacity: none of the rates tried kept up; the paced goals run at %s of the lowest: %g orders/s\n", share, p.Rate)
	}
	fmt.Fprintf(w, "kept up: orders/s end to end ≥ %.0f %% of the offered rate, and intake → printer p50 of the last quarter of the orders ≤ %g × the first quarter's or ≤ %d ms above it\n",
		KeepUpThroughput*100, KeepUpGrowth, KeepUpGrowthMs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "offered orders/s\torders\treached orders/s\tintake → printer p50 (ms): first quarter\tlast quarter\tkept up\t")
	for _, s := range p.Search {
		kept := "yes"
		if !s.KeptUp {
			kept = "no"
		}
		fmt.Fprintf(tw, "%g\t%d\t%s\t%s\t%s\t%s\t\n", s.Rate, s.Orders, num(s.OrdersPerSec), num(s.FirstQuarterP50), num(s.LastQuarterP50), kept)
	}
	tw.Flush()
	if a := p.AtUnpacedShare; a != nil {
		fmt.Fprintf(w, "paced at %g orders/s (%s of the unpaced capacity, for reference, no goal): reached %s orders/s, intake p99 %s ms, intake → printer p99 %s ms, event → postback p99 %s ms\n",
			p.UnpacedShareRate, share, num(a.OrdersPerSec), num(a.Intake.P99), num(a.IntakeToPrinter.P99), num(a.EventToPostback.P99))
	}
	fmt.Fprintln(w)
}
