// Package bench measures the gateway end to end (`orderintake bench`):
// orders submitted to the API by concurrent clients travel to an in-process
// printer, which reports events back through the API, and the postbacks
// they fire land at an in-process receiver. The same run then drives a bare
// workflow with the journey's shape and no I/O on the same Temporal server,
// the floor our numbers are compared with. History (`bench history`) times
// the admin list queries over a large synthetic table.
//
// The package starts no Temporal server and no Postgres: the caller passes
// their addresses (the command starts the embedded ones), so it links into
// tests without the server.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/apiclient"
	"orderintake/internal/app"
	"orderintake/internal/demo"
	"orderintake/internal/loopback"
	"orderintake/internal/seal"
	"orderintake/store"
	"orderintake/store/storebench"
)

// Options configure a run.
type Options struct {
	Orders      int // measured orders
	Concurrency int // intake clients
	Events      int // events per order (1..5; the last one is delivered)
	Triggers    int // active webhook triggers per event, each its own destination
	Warmup      int // orders run first and left out of the numbers
	// Rate paces intake at this many orders a second over all clients
	// (0: every client sends as soon as its last order was answered).
	Rate float64

	TemporalAddr, Namespace, DatabaseURL string
	// Stack names what TemporalAddr and DatabaseURL are, for the report.
	Stack string
	// ExternalTemporal says the Temporal server runs elsewhere (its CPU is
	// then not measured).
	ExternalTemporal bool
	// TemporalPID is the embedded server's own process, metered on its
	// own; 0 with ExternalTemporal false: it runs in this process.
	TemporalPID int
	// Start runs the worker and the API (Children or InProcess).
	Start StartProduct
	// SkipBare leaves out the bare-workflow floor.
	SkipBare bool
	// BareShape is the bare workflow's shape: naive (default), local, merged.
	BareShape string
	// BareOnly runs only the floor (no worker, API or database traffic).
	BareOnly bool
	// Stall ends a run when nothing progressed for this long (default 60 s).
	Stall    time.Duration
	Progress io.Writer // progress display; nil: none
	Logger   *slog.Logger
}

func (o *Options) defaults() error {
	if o.Orders <= 0 {
		o.Orders = 1000
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 50
	}
	if o.Events <= 0 {
		o.Events = 4
	}
	if o.Triggers <= 0 {
		o.Triggers = 1
	}
	if o.Events > 5 {
		return errors.New("bench: at most 5 events per order (received, in_production, shipped, in_transit, delivered)")
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Stall <= 0 {
		o.Stall = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Start == nil || o.TemporalAddr == "" || o.DatabaseURL == "" {
		return errors.New("bench: Start, TemporalAddr and DatabaseURL are required")
	}
	return nil
}

// eventsFor is the journey of n events: the first n-1 of the printer's
// progress, then delivered (terminal, so the workflow ends).
func eventsFor(n int) []string {
	progress := []string{oi.EventReceived, oi.EventInProduction, oi.EventShipped, oi.EventInTransit}
	return append(append([]string{}, progress[:n-1]...), oi.EventDelivered)
}

// world is the printer and the webhook receiver: the loopback servers the
// tests use (internal/loopback), counting instead of keeping requests.
type world struct {
	printerSrv, receiverSrv *loopback.Server
	current                 atomic.Pointer[tracker]
	ctx                     context.Context

	apiURL, printerKey string
	hc                 *http.Client
	wait               time.Duration
}

func startWorld(ctx context.Context, hc *http.Client, wait time.Duration) (*world, error) {
	w := &world{ctx: ctx, hc: hc, wait: wait}
	var err error
	if w.printerSrv, err = loopback.Start(); err != nil {
		return nil, fmt.Errorf("bench: printer: %w", err)
	}
	if w.receiverSrv, err = loopback.Start(); err != nil {
		w.printerSrv.Close()
		return nil, fmt.Errorf("bench: webhook receiver: %w", err)
	}
	// The printer takes an order (201, keyed by its Idempotency-Key, the
	// order id); the receiver answers 200 and counts by webhook-id.
	w.printerSrv.Default, w.printerSrv.Discard, w.printerSrv.OnRequest = http.StatusCreated, true, w.printer
	w.receiverSrv.Default, w.receiverSrv.Discard, w.receiverSrv.OnRequest = http.StatusOK, true, w.receiver
	w.receiverSrv.KeyHeader = "Webhook-Id"
	return w, nil
}

func (w *world) stop() {
	w.printerSrv.Close()
	w.receiverSrv.Close()
}

// printerURL and hookURL are where the seeded printer and triggers send.
func (w *world) printerURL() string { return w.printerSrv.URL + "/printer" }
func (w *world) hookURL(trigger int) string {
	return w.receiverSrv.URL + "/hook/" + strconv.Itoa(trigger)
}

func (w *world) api() *apiclient.Client { return &apiclient.Client{BaseURL: w.apiURL, HTTP: w.hc} }

// printer sees an order arrive and, the first time, starts reporting its
// events (a retry is acknowledged, not produced twice).
func (w *world) printer(r loopback.Request) error {
	id := r.Header.Get("X-Order-Id")
	if id == "" || r.Header.Get("Idempotency-Key") == "" || !json.Valid(r.Body) {
		return errors.New("POST a JSON order with X-Order-Id and Idempotency-Key")
	}
	t := w.current.Load()
	if o, first := t.printerGot(id, r.At); first {
		go t.report(w.ctx, id, o, w.sendEvent, w.wait)
	}
	return nil
}

// sendEvent reports one event through the API, as a printer does; a busy
// gateway (5xx, connection error) is retried a few times.
func (w *world) sendEvent(ctx context.Context, id string, ev int) error {
	t := w.current.Load()
	status := t.events[ev]
	e := map[string]string{"eventId": strconv.Itoa(ev+1) + "-" + status, "status": status,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
	if status == oi.EventShipped {
		e["trackingCode"], e["trackingUrl"], e["carrierName"] = "BENCH"+id[len(id)-6:], "https://tracking.example/"+id, "Bench Post"
	}
	body, _ := json.Marshal(e)
	var last error
	for try := range 5 {
		resp, err := w.api().SendEvent(ctx, w.printerKey, id, json.RawMessage(body))
		if err == nil {
			if resp.Status/100 == 2 {
				return nil
			}
			err = fmt.Errorf("events route answered %d", resp.Status)
			if resp.Status < 500 {
				return err
			}
		}
		last = err
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	return last
}

// receiver takes a postback: the webhook template carries the order and
// event, the path the trigger.
func (w *world) receiver(r loopback.Request) error {
	var p struct{ Event, OrderID string }
	trig, err := strconv.Atoi(strings.TrimPrefix(r.Path, "/hook/"))
	if err != nil || json.Unmarshal(r.Body, &p) != nil || r.Header.Get("Webhook-Signature") == "" {
		return errors.New("not a bench postback")
	}
	t := w.current.Load()
	t.postbackGot(p.OrderID, t.eventIndex(p.Event), trig, r.At)
	return nil
}

// seeded is the bench's customer, wired to the world.
type seeded struct {
	customerID, customerKey, printerKey string
}

// seed creates a printer, the demo templates, a customer and its keys, and
// triggers webhooks per event at the receiver; ids carry the run id so
// runs against one database do not collide.
func seed(ctx context.Context, st *store.Store, sealer *seal.Sealer, run string, w *world, events []string, triggers int) (*seeded, error) {
	s := &seeded{customerID: "cus_bench_" + run, customerKey: "ck_bench_" + seal.NewKey()[:24], printerKey: "pk_bench_" + seal.NewKey()[:24]}
	printerID := "prn_bench_" + run
	if _, err := st.CreatePrinter(ctx, &oi.Printer{ID: printerID, Name: "Bench printer " + run, URL: w.printerURL(),
		Format: oi.FormatJSON, TimeoutMs: 10000}); err != nil {
		return nil, fmt.Errorf("bench: seed printer: %w", err)
	}
	intake, hook := "tpl_bench_intake_"+run, "tpl_bench_hook_"+run
	for _, t := range []*oi.Template{
		{ID: intake, Name: "Bench intake", Kind: oi.KindIntake, Format: oi.FormatJSON, Body: demo.IntakeTemplateBody},
		{ID: hook, Name: "Bench webhook", Kind: oi.KindWebhook, Format: oi.FormatJSON, Body: demo.WebhookTemplateBody},
	} {
		if _, err := st.CreateTemplate(ctx, t); err != nil {
			return nil, fmt.Errorf("bench: seed template: %w", err)
		}
	}
	if _, err := st.CreateCustomer(ctx, &oi.Customer{ID: s.customerID, Name: "Bench shop " + run, ReferenceID: "bench-" + run,
		PrinterID: printerID, IntakeTemplateID: intake}); err != nil {
		return nil, fmt.Errorf("bench: seed customer: %w", err)
	}
	if err := st.InsertKey(ctx, oi.OwnerCustomer, s.customerID, s.customerKey); err != nil {
		return nil, fmt.Errorf("bench: seed keys: %w", err)
	}
	if err := st.InsertKey(ctx, oi.OwnerPrinter, printerID, s.printerKey); err != nil {
		return nil, fmt.Errorf("bench: seed keys: %w", err)
	}
	for _, ev := range events {
		for i := range triggers {
			secret, err := delivery.NewSecret()
			if err != nil {
				return nil, err
			}
			t := &oi.Trigger{ID: fmt.Sprintf("trg_bench_%s_%s_%d", run, ev, i), CustomerID: s.customerID, Name: ev + " " + strconv.Itoa(i),
				Event: ev, Method: oi.MethodURL, TemplateID: hook, Format: oi.FormatJSON,
				URL: w.hookURL(i), RetryOnFailure: true, Status: oi.TriggerActive}
			if _, err := st.CreateTrigger(ctx, t, sealer.Seal(secret)); err != nil {
				return nil, fmt.Errorf("bench: seed trigger: %w", err)
			}
		}
	}
	return s, nil
}

func orderBody(ref string) []byte {
	return []byte(`{"orderReferenceId": "` + ref + `", "buyer": {"name": "Ada Lovelace", "email": "ada@example.com"}, ` +
		`"shippingAddress": {"country": "DK"}, "items": [{"sku": "POSTER-A3", "quantity": 2}, {"sku": "MUG-WHITE", "quantity": 1}]}`)
}

// driveIntake submits the orders with c concurrent clients; submit does
// one, timing it from t0. Unpaced (rate 0), each client sends its next order
// as soon as the last is answered. Paced, order i is due at i/rate seconds
// and timed from then, so a late answer also counts the wait it caused
// (no coordinated omission).
func driveIntake(ctx context.Context, ids []string, c int, rate float64, submit func(ctx context.Context, i int, id string, t0 time.Time)) {
	next := atomic.Int64{}
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					time.Sleep(time.Until(t0))
				}
				submit(ctx, i, ids[i], t0)
			}
		}()
	}
	wg.Wait()
}

// waitDone returns when every postback arrived, or when nothing moved for
// stall (what is missing then is reported as lost), or alive fails.
func waitDone(ctx context.Context, t *tracker, want int64, stall time.Duration, alive func() error) error {
	last, lastMove := int64(-1), time.Now()
	for {
		n := t.postbacks.Load() + t.printed.Load() + t.submitted.Load()
		if t.postbacks.Load() >= want {
			return nil
		}
		if n != last {
			last, lastMove = n, time.Now()
		} else if time.Since(lastMove) > stall {
			return nil
		}
		if err := alive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// runOurs sends n orders through the product and waits for their postbacks.
func runOurs(ctx context.Context, o *Options, w *world, s *seeded, p Product, hc *http.Client, run, label string, n int, bar bool) (*tracker, time.Time, error) {
	events := eventsFor(o.Events)
	t := newTracker(events, o.Triggers)
	ids := make([]string, n)
	refs := make([]string, n)
	for i := range n {
		refs[i] = fmt.Sprintf("bench-%s-%s-%d", run, label, i)
		ids[i] = oi.OrderID(s.customerID, refs[i])
		t.add(ids[i])
	}
	w.current.Store(t)
	var pr *progress
	if bar {
		want := int64(n * len(events) * o.Triggers)
		pr = startProgress(o.Progress, "ours", counter{"postbacks", want, t.postbacks.Load},
			counter{"submitted", int64(n), t.submitted.Load}, counter{"at printer", int64(n), t.printed.Load})
	}
	api := &apiclient.Client{BaseURL: p.APIURL(), HTTP: hc}
	start := time.Now()
	driveIntake(ctx, ids, o.Concurrency, o.Rate, func(ctx context.Context, i int, id string, t0 time.Time) {
		ot := t.get(id)
		resp, err := api.SubmitOrder(ctx, s.customerKey, "application/json", orderBody(refs[i]), nil)
		status := 0
		if err == nil {
			var got apiclient.OrderAccepted
			status = resp.Status
			switch {
			case status/100 != 2:
				err = fmt.Errorf("intake answered %d: %s", status, strings.TrimSpace(string(resp.Body)))
			default:
				if err = resp.Decode(&got); err == nil && got.ID != id {
					err = fmt.Errorf("order id %q, want %q", got.ID, id)
				}
			}
		}
		t.intakeDone(ot, t0, status, err)
	})
	err := waitDone(ctx, t, int64(n*len(events)*o.Triggers), o.Stall, p.Alive)
	if pr != nil {
		pr.Stop()
	}
	return t, start, err
}

// storedCheck counts, through the store and Temporal, what the run left:
// orders delivered, postbacks delivered, workflows completed.
type storedCheck struct {
	OrdersDelivered    int `json:"ordersDelivered"`
	PostbacksDelivered int `json:"postbacksDelivered"`
	WorkflowsCompleted int `json:"workflowsCompleted"`
}

func checkStored(ctx context.Context, st *store.Store, tc client.Client, customerID string) (storedCheck, error) {
	var c storedCheck
	f := store.ListFilter{CustomerID: customerID, Status: oi.EventDelivered, Limit: 500}
	for {
		list, next, err := st.ListOrderRequests(ctx, f)
		if err != nil {
			return c, fmt.Errorf("bench: count orders: %w", err)
		}
		c.OrdersDelivered += len(list)
		if f.Cursor = next; next == "" {
			break
		}
	}
	// Workflows before postbacks: the receiver has a postback before the
	// delivery activity records it delivered, so the run can end with the
	// last few rows still pending. A workflow completes only after its
	// deliveries are recorded, so postbacks counted once every workflow
	// completed are the final count. Visibility lags a little behind the
	// last workflow task.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf(`CustomerId = %q AND ExecutionStatus = "Completed"`, customerID)})
		if err != nil {
			return c, fmt.Errorf("bench: count workflows: %w", err)
		}
		c.WorkflowsCompleted = int(resp.GetCount())
		if c.WorkflowsCompleted >= c.OrdersDelivered || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	f = store.ListFilter{CustomerID: customerID, Status: oi.PostbackDelivered, Limit: 500}
	for {
		list, next, err := st.ListPostbacks(ctx, f)
		if err != nil {
			return c, fmt.Errorf("bench: count postbacks: %w", err)
		}
		c.PostbacksDelivered += len(list)
		if f.Cursor = next; next == "" {
			break
		}
	}
	return c, nil
}

// Run measures the journey, then the bare floor, and reports both.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	log := o.Logger
	rep := &Report{Orders: o.Orders, Concurrency: o.Concurrency, Events: o.Events, Triggers: o.Triggers, Warmup: o.Warmup,
		Rate: o.Rate, Stack: o.Stack, ExternalTemporal: o.ExternalTemporal, Temporal: TemporalBenchProcess, Machine: machine(),
		Started: time.Now().UTC()}
	switch {
	case o.ExternalTemporal:
		rep.Temporal = TemporalExternal
	case o.TemporalPID > 0:
		rep.Temporal = TemporalOwnProcess
	}
	if err := store.Migrate(ctx, o.DatabaseURL); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tc, err := client.DialContext(ctx, client.Options{HostPort: o.TemporalAddr, Namespace: o.Namespace,
		Logger:            sdklog.NewStructuredLogger(slog.New(levelFloor{log.Handler(), slog.LevelWarn})),
		ConnectionOptions: app.TemporalConnection(o.TemporalAddr, nil)}) // as ours: the floor gets the same connection
	if err != nil {
		return nil, fmt.Errorf("bench: connect to temporal at %s: %w", o.TemporalAddr, err)
	}
	defer tc.Close()

	run := strings.ToLower(oi.NewOrderKey()[14:])
	if o.BareOnly {
		r, cpu, err := runBare(ctx, &o, tc, run, cpuMeter{temporal: o.TemporalPID}, bareHolds(rep.Temporal))
		if err != nil {
			return nil, err
		}
		b := summarize(r)
		b.CPU = cpu
		rep.Bare, rep.BareActivities, rep.BareShape, rep.Finished = &b, bareActivities(o.Events, o.Triggers), o.BareShape, time.Now().UTC()
		rep.BareOnly = true
		return rep, nil
	}
	key := seal.NewKey()
	sealer, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	// One keep-alive connection per client, so the numbers hold no TCP set-up.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 4 * o.Concurrency,
		MaxIdleConnsPerHost: 2 * o.Concurrency, IdleConnTimeout: time.Minute}}
	wctx, cancelWorld := context.WithCancel(ctx)
	defer cancelWorld()
	w, err := startWorld(wctx, hc, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	events := eventsFor(o.Events)
	s, err := seed(ctx, st, sealer, run, w, events, o.Triggers)
	if err != nil {
		return nil, err
	}
	log.Info("starting worker and API")
	p, err := o.Start(ctx, ProductEnv{DatabaseURL: o.DatabaseURL, TemporalAddr: o.TemporalAddr, Namespace: o.Namespace,
		SecretKey: key, AdminToken: "adm_bench_" + run + "_" + strings.ToLower(oi.NewOrderKey()), Logger: log}) // `orderintake api` wants ≥ 32 characters
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := p.Stop(); err != nil {
			log.Warn("stop worker and API", "error", err)
		}
	}()
	w.apiURL, w.printerKey = p.APIURL(), s.printerKey

	if o.Warmup > 0 {
		log.Info("warm-up", "orders", o.Warmup)
		t, _, err := runOurs(ctx, &o, w, s, p, hc, run, "warmup", o.Warmup, false)
		if err != nil {
			return nil, fmt.Errorf("bench: warm-up: %w", err)
		}
		if r := t.collect(time.Now()); r.LostPostbacks > 0 || r.IntakeErrors > 0 {
			return nil, fmt.Errorf("bench: warm-up lost %d postbacks, %d intake errors (first: %s)", r.LostPostbacks, r.IntakeErrors, r.FirstError)
		}
	}
	wpid, apid := p.PIDs()
	meter := cpuMeter{worker: wpid, api: apid, temporal: o.TemporalPID}
	if db, err := storebench.Open(ctx, o.DatabaseURL); err == nil {
		if backend, err := db.BackendPID(ctx); err == nil {
			meter.postmaster = localPostmaster(backend)
		}
		db.Close()
	}
	pids := []int{wpid, apid}
	if o.TemporalPID > 0 {
		pids = append(pids, o.TemporalPID)
	}
	rss := startRSS(pids...)
	cpu0 := meter.snap()
	t, start, err := runOurs(ctx, &o, w, s, p, hc, run, "run", o.Orders, true)
	cpu1 := meter.snap()
	peaks := rss.Stop()
	if err != nil {
		return nil, err
	}
	rep.Ours = summarize(t.collect(start))
	rep.Ours.CPU = cpu1.perOrder(cpu0, o.Orders, benchHolds(p.Separate(), rep.Temporal))
	rep.Ours.WorkerRSSMiB, rep.Ours.APIRSSMiB = peaks[wpid], peaks[apid]
	if o.TemporalPID > 0 {
		rep.Ours.TemporalRSSMiB = peaks[o.TemporalPID]
	}
	rep.SeparateProcesses = p.Separate()
	if rep.Stored, err = checkStored(ctx, st, tc, s.customerID); err != nil {
		return nil, err
	}
	rep.Stored.OrdersDelivered -= o.Warmup
	rep.Stored.PostbacksDelivered -= o.Warmup * len(events) * o.Triggers
	rep.Stored.WorkflowsCompleted -= o.Warmup

	if !o.SkipBare {
		log.Info("bare floor", "orders", o.Orders)
		r, cpu, err := runBare(ctx, &o, tc, run, meter, bareHolds(rep.Temporal))
		if err != nil {
			return nil, err
		}
		b := summarize(r)
		b.CPU = cpu
		rep.Bare, rep.BareActivities, rep.BareShape = &b, bareActivities(o.Events, o.Triggers), o.BareShape
	}
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// benchHolds names the product's parts that run in the bench process.
func benchHolds(separate bool, temporal string) string {
	var parts []string
	if !separate {
		parts = append(parts, "worker", "API")
	}
	if temporal == TemporalBenchProcess {
		parts = append(parts, "Temporal")
	}
	return strings.Join(parts, ", ")
}

// bareHolds is benchHolds for the bare floor, whose worker runs in the
// bench process.
func bareHolds(temporal string) string {
	if temporal == TemporalBenchProcess {
		return "bare worker, Temporal"
	}
	return "bare worker"
}

// levelFloor drops records below min (the SDK logs every poll at DEBUG).
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
