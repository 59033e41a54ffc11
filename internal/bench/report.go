package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Side is what one workflow shape (ours or the bare floor) measured.
type Side struct {
	OrdersPerSec    float64 `json:"ordersPerSec"`
	PostbacksPerSec float64 `json:"postbacksPerSec"`
	ElapsedSec      float64 `json:"elapsedSec"`
	Intake          Dist    `json:"intake"`
	IntakeToPrinter Dist    `json:"intakeToPrinter"`
	EventToPostback Dist    `json:"eventToPostback"`
	// PrinterP50FirstQuarter and PrinterP50LastQuarter are the intake →
	// printer medians of the first and the last quarter of the orders, by
	// when they were due: a paced run that does not keep up shows a
	// growing queue here.
	PrinterP50FirstQuarter float64 `json:"intakeToPrinterP50FirstQuarterMs,omitempty"`
	PrinterP50LastQuarter  float64 `json:"intakeToPrinterP50LastQuarterMs,omitempty"`
	Postbacks              int     `json:"postbacksDelivered"`
	IntakeErrors           int     `json:"intakeErrors"`
	LostOrders             int     `json:"lostOrders"`
	LostPostbacks          int     `json:"lostPostbacks"`
	Duplicates             int64   `json:"duplicatePostbacks"`
	Strays                 int64   `json:"strayRequests"`
	FirstError             string  `json:"firstError,omitempty"`
	WorkerRSSMiB           float64 `json:"workerRssPeakMiB,omitempty"`
	APIRSSMiB              float64 `json:"apiRssPeakMiB,omitempty"`
	// TemporalRSSMiB is the embedded server\'s, when it has its own process.
	TemporalRSSMiB float64 `json:"temporalRssPeakMiB,omitempty"`
	CPU            CPU     `json:"cpuMsPerOrder"`
}

// CPU is CPU time per order, by process, in milliseconds: where the two
// cores went. Temporal is the embedded server's own process (0 when it runs
// in the bench process or elsewhere). Bench is this process: the harness
// (the intake clients, the loopback printer and receiver, the progress
// display), which stands in for merchants, printers and receivers, plus
// the product's parts BenchHolds names when they run in it.
type CPU struct {
	Worker   float64 `json:"worker,omitempty"`
	API      float64 `json:"api,omitempty"`
	Temporal float64 `json:"temporal,omitempty"`
	Postgres float64 `json:"postgres,omitempty"`
	Bench    float64 `json:"bench"`
	// BenchHolds names the product's parts in the bench process ("": the
	// harness alone): "bare worker" for the floor, "Temporal" with
	// --temporal-in-bench, "worker, API, Temporal" with --in-process.
	BenchHolds string `json:"benchHolds,omitempty"`
}

// Product is the CPU per order of the product's processes: worker, API,
// Temporal server and PostgreSQL. When the bench process holds part of the
// product, its whole figure is counted (the harness cannot be told apart
// from the product there).
func (c CPU) Product() float64 {
	p := c.Worker + c.API + c.Temporal + c.Postgres
	if c.BenchHolds != "" {
		p += c.Bench
	}
	return math.Round(p*10) / 10
}

// Harness is the CPU per order of the harness alone, when it has a process
// to itself (ok false when the bench process also holds the product).
func (c CPU) Harness() (ms float64, ok bool) { return c.Bench, c.BenchHolds == "" }

func summarize(r stageResult) Side {
	s := Side{ElapsedSec: math.Round(r.Elapsed.Seconds()*100) / 100, Intake: distOf(r.Intake),
		IntakeToPrinter: distOf(r.IntakeToPrinter), EventToPostback: distOf(r.EventToPostback), Postbacks: r.Postbacks,
		IntakeErrors: r.IntakeErrors, LostOrders: r.LostOrders, LostPostbacks: r.LostPostbacks, Duplicates: r.Duplicates,
		Strays: r.Strays, FirstError: r.FirstError}
	s.PrinterP50FirstQuarter, s.PrinterP50LastQuarter = quarterP50s(r.PrinterByDue)
	if r.Elapsed > 0 && r.LostPostbacks == 0 {
		s.OrdersPerSec = math.Round(float64(r.Orders)/r.Elapsed.Seconds()*10) / 10
		s.PostbacksPerSec = math.Round(float64(r.Postbacks)/r.Elapsed.Seconds()*10) / 10
	}
	return s
}

// Lossless reports whether every order reached the printer and every
// postback its receiver, with no intake error. Strays (requests for orders
// of no pass, such as a warm-up order's late retry) are reported, not lost.
func (s *Side) Lossless() bool {
	return s.IntakeErrors == 0 && s.LostOrders == 0 && s.LostPostbacks == 0
}

// Report is one `orderintake bench` run.
type Report struct {
	Orders           int     `json:"orders"`
	Concurrency      int     `json:"concurrency"`
	Events           int     `json:"eventsPerOrder"`
	Triggers         int     `json:"triggersPerEvent"`
	Warmup           int     `json:"warmupOrders"`
	Rate             float64 `json:"rate,omitempty"`
	ExternalTemporal bool    `json:"externalTemporal,omitempty"`
	// Temporal is where the Temporal server ran: "own process" (measured
	// on its own), "bench process" or "external" (not measured).
	Temporal          string    `json:"temporal"`
	Stack             string    `json:"stack"`
	Machine           Machine   `json:"machine"`
	Started           time.Time `json:"started"`
	Finished          time.Time `json:"finished"`
	SeparateProcesses bool      `json:"workerAndApiSeparateProcesses"`
	Ours              Side      `json:"ours"`
	Bare              *Side     `json:"bare,omitempty"`
	BareActivities    int       `json:"bareActivitiesPerOrder"`
	BareShape         string    `json:"bareShape,omitempty"`
	// BareOnly says only the floor ran (--bare-only): ours and the stored
	// check are empty, not lost.
	BareOnly bool        `json:"bareOnly,omitempty"`
	Stored   storedCheck `json:"stored"`
}

// Lossless reports the run's zero-loss verdict: every order and postback
// arrived, the database agrees, and every order workflow completed.
func (r *Report) Lossless() error {
	var bad []string
	if !r.BareOnly && !r.Ours.Lossless() {
		bad = append(bad, fmt.Sprintf("ours: %d intake errors, %d orders and %d postbacks lost (first error: %s)",
			r.Ours.IntakeErrors, r.Ours.LostOrders, r.Ours.LostPostbacks, r.Ours.FirstError))
	}
	if r.Bare != nil && !r.Bare.Lossless() {
		bad = append(bad, fmt.Sprintf("bare: %d start errors, %d orders and %d postbacks lost (first error: %s)",
			r.Bare.IntakeErrors, r.Bare.LostOrders, r.Bare.LostPostbacks, r.Bare.FirstError))
	}
	want := r.Orders * r.Events * r.Triggers
	if !r.BareOnly && (r.Stored.OrdersDelivered != r.Orders || r.Stored.PostbacksDelivered != want || r.Stored.WorkflowsCompleted != r.Orders) {
		bad = append(bad, fmt.Sprintf("stored: %d orders delivered, %d postbacks delivered, %d workflows completed; want %d, %d, %d",
			r.Stored.OrdersDelivered, r.Stored.PostbacksDelivered, r.Stored.WorkflowsCompleted, r.Orders, want, r.Orders))
	}
	if len(bad) > 0 {
		return fmt.Errorf("bench: loss: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Where the Temporal server ran (Report.Temporal).
const (
	TemporalOwnProcess   = "own process"
	TemporalBenchProcess = "bench process"
	TemporalExternal     = "external"
)

// cpuNote says what the CPU rows hold: which processes the product total
// adds up and where the harness is.
func cpuNote(r *Report) string {
	c := r.Ours.CPU
	var b strings.Builder
	switch {
	case r.Temporal == TemporalExternal && c.BenchHolds == "":
		b.WriteString("CPU: total measured = worker + API + Postgres; the Temporal server is external (--temporal-address), not measured; the bench harness (clients, printer, receiver) is not in the total")
	case r.Temporal == TemporalExternal:
		b.WriteString("CPU: one bench process holds " + c.BenchHolds + " and the harness (--in-process), counted in the total; the Temporal server is external, not measured")
	case c.BenchHolds == "":
		b.WriteString("CPU: product total = worker + API + Temporal + Postgres, each its own process; the bench harness (clients, printer, receiver) is not in it")
	default:
		b.WriteString("CPU: the bench process holds " + c.BenchHolds + " and the harness, counted in the total (they cannot be told apart)")
	}
	if r.Bare != nil {
		b.WriteString("; bare: its worker runs in the bench process, so its bench figure is its worker and its clients, and its total adds it")
	}
	return b.String()
}

func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func ratio(a, b float64) string {
	if a == 0 || b < 1 { // below 1 (the floor's Postgres CPU) a ratio says nothing
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// WriteTable prints the report as one table.
func (r *Report) WriteTable(w io.Writer) {
	pace := "unpaced (each client sends when answered)"
	if r.Rate > 0 {
		pace = fmt.Sprintf("paced at %g orders/s", r.Rate)
	}
	fmt.Fprintf(w, "orderintake bench: %d orders (+%d warm-up), %d clients %s, %d events/order, %d trigger(s)/event = %d postbacks\n",
		r.Orders, r.Warmup, r.Concurrency, pace, r.Events, r.Triggers, r.Orders*r.Events*r.Triggers)
	fmt.Fprintf(w, "stack: %s; %d CPUs, load average %.2f at start, %s\n", r.Stack, r.Machine.CPUs, r.Machine.Load1, r.Machine.GoVersion)
	bareName := "bare floor"
	if r.Bare != nil {
		bareName = fmt.Sprintf("bare (%d activities, %d signals)", r.BareActivities, r.Events)
		if r.BareShape != "" && r.BareShape != "naive" {
			bareName = "bare (" + r.BareShape + " shape)"
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tours\t%s\tours/bare\t\n", bareName)
	b := r.Bare
	if b == nil {
		b = &Side{}
	}
	row := func(name string, ours, bare float64, showBare bool) {
		bs := "—"
		if showBare && r.Bare != nil {
			bs = num(bare)
		}
		rs := "—"
		if showBare && r.Bare != nil {
			rs = ratio(ours, bare)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, num(ours), bs, rs)
	}
	row("orders/s end to end", r.Ours.OrdersPerSec, b.OrdersPerSec, true)
	row("postbacks/s end to end", r.Ours.PostbacksPerSec, b.PostbacksPerSec, true)
	row("intake p50 (ms)", r.Ours.Intake.P50, b.Intake.P50, true)
	row("intake p95 (ms)", r.Ours.Intake.P95, b.Intake.P95, true)
	row("intake p99 (ms)", r.Ours.Intake.P99, b.Intake.P99, true)
	row("intake → printer p50 (ms)", r.Ours.IntakeToPrinter.P50, b.IntakeToPrinter.P50, true)
	row("intake → printer p99 (ms)", r.Ours.IntakeToPrinter.P99, b.IntakeToPrinter.P99, true)
	if r.Rate > 0 { // paced: did the run keep up (bench goals' search)?
		row("intake → printer p50 (ms), first quarter", r.Ours.PrinterP50FirstQuarter, b.PrinterP50FirstQuarter, true)
		row("intake → printer p50 (ms), last quarter", r.Ours.PrinterP50LastQuarter, b.PrinterP50LastQuarter, true)
	}
	row("event → postback p50 (ms)", r.Ours.EventToPostback.P50, b.EventToPostback.P50, true)
	row("event → postback p99 (ms)", r.Ours.EventToPostback.P99, b.EventToPostback.P99, true)
	own := r.Temporal == TemporalOwnProcess
	if r.SeparateProcesses {
		row("worker RSS peak (MiB)", r.Ours.WorkerRSSMiB, 0, false)
		row("API RSS peak (MiB)", r.Ours.APIRSSMiB, 0, false)
	} else {
		row("process RSS peak (MiB, one process)", r.Ours.WorkerRSSMiB, 0, false)
	}
	if own {
		row("Temporal RSS peak (MiB)", r.Ours.TemporalRSSMiB, 0, false)
	}
	if r.SeparateProcesses {
		row("CPU ms/order: worker", r.Ours.CPU.Worker, 0, false)
		row("CPU ms/order: API", r.Ours.CPU.API, 0, false)
	}
	if own {
		row("CPU ms/order: Temporal", r.Ours.CPU.Temporal, b.CPU.Temporal, true)
	}
	row("CPU ms/order: Postgres", r.Ours.CPU.Postgres, b.CPU.Postgres, true)
	c := r.Ours.CPU
	totalName := "CPU ms/order: product total"
	if c.BenchHolds != "" || r.Temporal == TemporalExternal {
		totalName = "CPU ms/order: total measured"
	}
	row(totalName, c.Product(), b.CPU.Product(), true)
	benchName := "CPU ms/order: bench harness"
	if c.BenchHolds != "" {
		benchName = "CPU ms/order: bench process (" + c.BenchHolds + ", harness)"
	}
	row(benchName, c.Bench, b.CPU.Bench, true)
	tw.Flush()
	fmt.Fprintln(w, cpuNote(r))
	verdict := "zero loss"
	if err := r.Lossless(); err != nil {
		verdict = err.Error()
	}
	fmt.Fprintf(w, "%s; %d duplicate postbacks, %d stray requests; ours took %.1fs", verdict, r.Ours.Duplicates, r.Ours.Strays, r.Ours.ElapsedSec)
	if r.Bare != nil {
		fmt.Fprintf(w, ", bare %.1fs", r.Bare.ElapsedSec)
	}
	fmt.Fprintln(w)
	if r.Rate > 0 {
		kept, why := KeptUp(r.Rate, r.Ours.OrdersPerSec, r.Ours.PrinterP50FirstQuarter, r.Ours.PrinterP50LastQuarter)
		verdict := "kept up"
		if !kept {
			verdict = "did not keep up"
		}
		fmt.Fprintf(w, "paced at %g orders/s, ours %s: %s\n", r.Rate, verdict, why)
	}
}
