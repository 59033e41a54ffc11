package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	oi "orderintake"
	"orderintake/workflows"
)

// cancelDesk is the printer's cancel endpoint on loopback: it records the
// path and body of each cancel and answers the statuses of script in turn.
type cancelDesk struct {
	*httptest.Server
	mu     sync.Mutex
	paths  []string
	bodies []string
	script []int
}

func newCancelDesk(t *testing.T, script ...int) *cancelDesk {
	d := &cancelDesk{script: script}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.paths = append(d.paths, r.URL.Path)
		d.bodies = append(d.bodies, string(b))
		status := http.StatusOK
		if n := len(d.paths); n <= len(d.script) {
			status = d.script[n-1]
		}
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status >= 400 {
			io.WriteString(w, `{"error": "order already in production"}`)
		} else {
			io.WriteString(w, `{"canceled": true}`)
		}
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *cancelDesk) got() ([]string, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.paths...), append([]string(nil), d.bodies...)
}

// lifeFixture is a fixture whose printer answers with its own order id
// (P-<our order id>, found by orderIdExpression), takes cancels at desk, and whose
// customer has a cancel template.
func lifeFixture(t *testing.T, printerScript []int, desk *cancelDesk, events ...string) *fixture {
	x := newFixture(t, printerScript, events...)
	ctx := context.Background()
	p := x.f.Printer
	p.OrderIDExpression = "printerOrderId"
	if desk != nil {
		p.CancelURL = desk.URL + "/orders/{{ printerOrderId }}/cancel"
	}
	if _, err := x.st.UpdatePrinter(ctx, p); err != nil {
		t.Fatal(err)
	}
	tpl, err := x.st.CreateTemplate(ctx, &oi.Template{ID: oi.NewID("tpl"), Name: "cancel", Kind: oi.KindCancel, Format: oi.FormatJSON,
		Body: `{"order": "{{ printerOrderId }}", "ours": "{{ orderId }}", "reason": "{{ reason }}"}`})
	if err != nil {
		t.Fatal(err)
	}
	x.f.Customer.CancelTemplateID = tpl.ID
	if x.f.Customer, err = x.st.UpdateCustomer(ctx, x.f.Customer); err != nil {
		t.Fatal(err)
	}
	return x
}

type updateOutcome struct {
	accepted bool
	rejected error
	result   workflows.CancelResult
	err      error
	done     bool
}

// cancelAt sends the cancel Update after d.
func (x *fixture) cancelAt(d time.Duration, id string, body string) *updateOutcome {
	out := &updateOutcome{}
	x.env.RegisterDelayedCallback(func() {
		in := workflows.CancelInput{Source: "customer"}
		if body != "" {
			in.ContentType, in.Body = "application/json", []byte(body)
		}
		x.env.UpdateWorkflow(workflows.UpdateCancel, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { out.accepted = true },
			OnReject: func(err error) { out.rejected = err; out.done = true },
			OnComplete: func(v any, err error) {
				out.done, out.err = true, err
				if r, ok := v.(workflows.CancelResult); ok {
					out.result = r
				}
			},
		}, in)
	}, d)
	return out
}

func (x *fixture) resubmitAt(d time.Duration, id string) *updateOutcome {
	out := &updateOutcome{}
	x.env.RegisterDelayedCallback(func() {
		x.env.UpdateWorkflow(workflows.UpdateResubmit, id, &testsuite.TestUpdateCallback{
			OnAccept:   func() { out.accepted = true },
			OnReject:   func(err error) { out.rejected = err; out.done = true },
			OnComplete: func(_ any, err error) { out.done, out.err = true, err },
		})
	}, d)
	return out
}

func (x *fixture) completed(t *testing.T) {
	t.Helper()
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
}

func (x *fixture) cancelRecord(t *testing.T, id string) *oi.CancelRequest {
	t.Helper()
	c, err := x.st.GetCancel(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (x *fixture) eventSources(t *testing.T, orderID string) map[string]string {
	t.Helper()
	evs, err := x.st.ListOrderEvents(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range evs {
		if e.Accepted {
			out[e.Status] = e.Source
		}
	}
	return out
}

// A cancel that comes before the printer took the order stops the
// submission: the printer is never called and no cancel goes to it.
func TestCancelBeforeSubmitStopsTheSubmission(t *testing.T) {
	desk := newCancelDesk(t)
	x := lifeFixture(t, nil, desk, oi.EventCanceled)
	in := x.input("R-CANCEL-EARLY")
	out := x.cancelAt(0, "cnl-early", "")
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if !out.done || out.err != nil || out.result.Status != oi.EventCanceled || out.result.PrinterCalled {
		t.Fatalf("cancel = %+v, want canceled without a printer call", out)
	}
	if n := len(x.printer.Requests()); n != 0 {
		t.Fatalf("printer got %d requests; a cancel before submission must stop it", n)
	}
	if paths, _ := desk.got(); len(paths) != 0 {
		t.Fatalf("cancel desk got %v; nothing was at the printer to cancel", paths)
	}
	if o := x.order(t, in.OrderID); o.Status != oi.EventCanceled {
		t.Fatalf("status = %s, want canceled", o.Status)
	}
	if c := x.cancelRecord(t, "cnl-early"); c.Outcome != oi.CancelCanceled || c.PrinterCalled {
		t.Fatalf("cancel record = %+v", c)
	}
	if src := x.eventSources(t, in.OrderID)[oi.EventCanceled]; src != "customer" {
		t.Fatalf("canceled event source = %q, want customer", src)
	}
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "canceled" {
		t.Fatalf("receiver got %v, want [canceled]", got)
	}
}

// While the printer answers 5xx (the order not taken yet), a cancel stops
// the retries: no printer call follows the cancel.
func TestCancelDuringPrinterRetriesStopsThem(t *testing.T) {
	desk := newCancelDesk(t)
	x := lifeFixture(t, nil, desk, oi.EventCanceled)
	x.printer.Default = http.StatusServiceUnavailable
	in := x.input("R-CANCEL-5XX")
	var before int
	x.env.RegisterDelayedCallback(func() { before = len(x.printer.Requests()) }, 30*time.Second)
	out := x.cancelAt(30*time.Second, "cnl-5xx", "")
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if out.err != nil || out.result.PrinterCalled || out.result.Status != oi.EventCanceled {
		t.Fatalf("cancel = %+v", out)
	}
	if before == 0 || len(x.printer.Requests()) != before {
		t.Fatalf("printer got %d requests before the cancel and %d in all; none may follow the cancel", before, len(x.printer.Requests()))
	}
	if paths, _ := desk.got(); len(paths) != 0 {
		t.Fatalf("cancel desk got %v", paths)
	}
}

// After the printer took the order, the cancel template goes to the
// printer's cancel URL (with the printer's order id), and the printer's 2xx
// cancels the order and fires canceled.
func TestCancelAfterAcceptanceGoesToThePrinter(t *testing.T) {
	desk := newCancelDesk(t)
	x := lifeFixture(t, nil, desk, oi.EventCanceled, oi.EventReceived)
	in := x.input("R-CANCEL")
	x.signalAt(time.Minute, ev("e1", oi.EventReceived))
	out := x.cancelAt(time.Hour, "cnl-after", `{"reason": "changed my mind"}`)
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if out.err != nil || out.result.Status != oi.EventCanceled || !out.result.PrinterCalled || out.result.PrinterStatus != 200 {
		t.Fatalf("cancel = %+v", out)
	}
	paths, bodies := desk.got()
	pid := "P-" + in.OrderID // the loopback printer's id of the order
	if len(paths) != 1 || paths[0] != "/orders/"+pid+"/cancel" {
		t.Fatalf("cancel desk got %v, want one cancel at /orders/%s/cancel", paths, pid)
	}
	var sent map[string]string
	if err := json.Unmarshal([]byte(bodies[0]), &sent); err != nil || sent["order"] != pid || sent["reason"] != "changed my mind" ||
		sent["ours"] != in.OrderID {
		t.Fatalf("cancel body = %s (%v), want the rendered cancel template", bodies[0], err)
	}
	o := x.order(t, in.OrderID)
	if o.Status != oi.EventCanceled || o.PrinterOrderID != pid {
		t.Fatalf("order status=%s printerOrderId=%q", o.Status, o.PrinterOrderID)
	}
	c := x.cancelRecord(t, "cnl-after")
	if c.Outcome != oi.CancelCanceled || !c.PrinterCalled || c.Final == nil || c.Response == nil || c.Response.Status != 200 ||
		!strings.Contains(string(c.Processing.Output), "changed my mind") {
		t.Fatalf("cancel record = %+v", c)
	}
	if got := x.receiver.Events(); len(got) != 2 || got[0] != "received" || got[1] != "canceled" {
		t.Fatalf("receiver got %v, want [received canceled]", got)
	}
	if src := x.eventSources(t, in.OrderID)[oi.EventCanceled]; src != "customer" {
		t.Fatalf("canceled event source = %q", src)
	}
}

// Once shipped, the validator refuses: nothing reaches the printer and the
// status stays.
func TestCancelRefusedAfterShipped(t *testing.T) {
	desk := newCancelDesk(t)
	x := lifeFixture(t, nil, desk, oi.EventCanceled)
	in := x.input("R-SHIPPED")
	x.signalAt(time.Minute, ev("e1", oi.EventShipped))
	out := x.cancelAt(time.Hour, "cnl-late", "")
	x.signalAt(2*time.Hour, ev("e2", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	var app *temporal.ApplicationError
	if out.rejected == nil || !errors.As(out.rejected, &app) || app.Type() != workflows.ErrCancelRefused ||
		!strings.Contains(app.Error(), "shipped") {
		t.Fatalf("cancel after shipped = %+v, want rejected (%s) naming the status", out, workflows.ErrCancelRefused)
	}
	if paths, _ := desk.got(); len(paths) != 0 {
		t.Fatalf("cancel desk got %v", paths)
	}
	if o := x.order(t, in.OrderID); o.Status != oi.EventDelivered {
		t.Fatalf("status = %s, want delivered", o.Status)
	}
	if _, err := x.st.GetCancel(context.Background(), "cnl-late"); oi.ErrorCode(err) != oi.ENOTFOUND {
		t.Fatalf("a refused cancel left a record: %v", err)
	}
}

// The printer refuses the cancel (4xx): the update fails with the
// printer's answer, once (no retry), and the order carries on.
func TestCancelRefusedByThePrinter(t *testing.T) {
	desk := newCancelDesk(t, http.StatusConflict)
	x := lifeFixture(t, nil, desk, oi.EventCanceled, oi.EventDelivered)
	in := x.input("R-4XX")
	out := x.cancelAt(time.Hour, "cnl-4xx", "")
	x.signalAt(2*time.Hour, ev("e1", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	var app *temporal.ApplicationError
	if out.err == nil || !errors.As(out.err, &app) || app.Type() != workflows.ErrPrinterRejected || !strings.Contains(app.Error(), "409") {
		t.Fatalf("cancel = %+v, want the printer's refusal (409)", out)
	}
	if paths, _ := desk.got(); len(paths) != 1 {
		t.Fatalf("cancel desk got %d cancels, want 1 (a 4xx is not retried)", len(paths))
	}
	c := x.cancelRecord(t, "cnl-4xx")
	if c.Outcome != oi.CancelRefused || c.Response == nil || c.Response.Status != 409 || !strings.Contains(string(c.Response.Body), "production") {
		t.Fatalf("cancel record = %+v", c)
	}
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "delivered" {
		t.Fatalf("receiver got %v, want [delivered] (no canceled)", got)
	}
}

// A 5xx from the cancel URL is retried until the printer answers.
func TestCancelPrinter5xxIsRetried(t *testing.T) {
	desk := newCancelDesk(t, 503, 502)
	x := lifeFixture(t, nil, desk, oi.EventCanceled)
	in := x.input("R-C5XX")
	out := x.cancelAt(time.Hour, "cnl-5xx-printer", "")
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if out.err != nil || out.result.Status != oi.EventCanceled {
		t.Fatalf("cancel = %+v", out)
	}
	if paths, _ := desk.got(); len(paths) != 3 {
		t.Fatalf("cancel desk got %d, want 3 (503, 502, 200)", len(paths))
	}
}

// try 1 fails on a template error at line 3; the template is fixed; the
// resubmit renders with the current version and the printer takes try 2.
// Both tries keep their stages; the order id stays.
func TestResubmitAfterTemplateError(t *testing.T) {
	x := lifeFixture(t, nil, nil, oi.EventFailed)
	ctx := context.Background()
	tpl, err := x.st.GetTemplate(ctx, x.f.Customer.IntakeTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	good := tpl.Body
	tpl.Body = "{\n  \"ref\": \"{{ orderReferenceId }}\",\n  \"n\": {{ nosuchfunction(1) }}\n}"
	if _, err := x.st.UpdateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	in := x.input("R-RESUB")
	x.env.RegisterDelayedCallback(func() {
		tpl.Body = good
		if _, err := x.st.UpdateTemplate(ctx, tpl); err != nil {
			t.Error(err)
		}
	}, 30*time.Minute)
	out := x.resubmitAt(time.Hour, "resub-1")
	x.signalAt(2*time.Hour, ev("e1", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if !out.accepted || out.err != nil {
		t.Fatalf("resubmit = %+v", out)
	}
	o := x.order(t, in.OrderID)
	if o.Try != 2 || o.Status != oi.EventDelivered || o.Processing.TemplateVersion != 3 || o.Response == nil || o.Response.Status != 201 {
		t.Fatalf("order try=%d status=%s version=%d response=%+v", o.Try, o.Status, o.Processing.TemplateVersion, o.Response)
	}
	tries, err := x.st.ListTries(ctx, in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tries) != 1 || tries[0].Try != 1 || tries[0].Status != oi.EventFailed || tries[0].Processing.TemplateVersion != 2 {
		t.Fatalf("earlier tries = %+v", tries)
	}
	var terr struct{ Line int }
	if err := json.Unmarshal(tries[0].Processing.Error, &terr); err != nil || terr.Line != 3 {
		t.Fatalf("try 1 template error = %s, want line 3", tries[0].Processing.Error)
	}
	if n := len(x.printer.Requests()); n != 1 {
		t.Fatalf("printer got %d requests, want 1 (try 2 only)", n)
	}
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "failed" {
		t.Fatalf("receiver got %v, want [failed] once", got)
	}
}

// A printer 4xx fails try 1 at once; the resubmit a second later sends
// again and the printer takes try 2; a second resubmit finds the order no
// longer failed and is refused.
func TestResubmitAfterPrinter4xx(t *testing.T) {
	x := lifeFixture(t, []int{422}, nil, oi.EventFailed)
	in := x.input("R-RESUB-4XX")
	early := x.resubmitAt(time.Second, "resub-1")
	out := x.resubmitAt(time.Hour, "resub-2")
	x.signalAt(2*time.Hour, ev("e1", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if !early.accepted || early.err != nil || out.rejected == nil {
		t.Fatalf("resubmit at 1s = %+v, at 1h = %+v; want the first taken and the second refused", early, out)
	}
	o := x.order(t, in.OrderID)
	if o.Try != 2 || o.Status != oi.EventDelivered || o.Response.Status != 201 || o.PrinterOrderID != "P-"+in.OrderID {
		t.Fatalf("order try=%d status=%s response=%+v printerOrderId=%q", o.Try, o.Status, o.Response, o.PrinterOrderID)
	}
	tries, _ := x.st.ListTries(context.Background(), in.OrderID)
	if len(tries) != 1 || tries[0].Response == nil || tries[0].Response.Status != 422 {
		t.Fatalf("try 1 = %+v, want the printer's 422 kept", tries)
	}
	if n := len(x.printer.Requests()); n != 2 {
		t.Fatalf("printer got %d, want 2", n)
	}
	var app *temporal.ApplicationError
	if !errors.As(out.rejected, &app) || app.Type() != workflows.ErrResubmitRefused {
		t.Fatalf("second resubmit rejected with %v", out.rejected)
	}
}

// A failed order nobody resubmits ends after the hold.
func TestFailedOrderEndsAfterTheHold(t *testing.T) {
	x := lifeFixture(t, []int{400}, nil, oi.EventFailed)
	in := x.input("R-HOLD")
	start := x.env.Now()
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if held := x.env.Now().Sub(start); held < workflows.DefaultFailedOrderHold {
		t.Fatalf("workflow ended %s after the failure, want after the %s hold", held, workflows.DefaultFailedOrderHold)
	}
}

func setDelayed(t *testing.T, x *fixture, d time.Duration) {
	x.f.Customer.DelayedAfter = oi.Duration(d)
	var err error
	if x.f.Customer, err = x.st.UpdateCustomer(context.Background(), x.f.Customer); err != nil {
		t.Fatal(err)
	}
}

// delayed fires once when the printer has not shipped in time, and its
// trigger fires; the later shipped does not fire it again.
func TestDelayedFiresOnce(t *testing.T) {
	x := lifeFixture(t, nil, nil, oi.EventDelayed, oi.EventShipped)
	setDelayed(t, x, 48*time.Hour)
	in := x.input("R-SLOW")
	x.signalAt(47*time.Hour, ev("e1", oi.EventInProduction))
	x.signalAt(100*time.Hour, ev("e2", oi.EventShipped), ev("e3", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if got := x.receiver.Events(); len(got) != 2 || got[0] != "delayed" || got[1] != "shipped" {
		t.Fatalf("receiver got %v, want [delayed shipped]", got)
	}
	evs, _ := x.st.ListOrderEvents(context.Background(), in.OrderID)
	n := 0
	for _, e := range evs {
		if e.Status == oi.EventDelayed {
			n++
			if e.Source != "system" {
				t.Fatalf("delayed source = %s", e.Source)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d delayed events, want 1", n)
	}
	if o := x.order(t, in.OrderID); o.Status != oi.EventDelivered {
		t.Fatalf("status = %s (delayed must not change the status)", o.Status)
	}
}

// Shipped in time: no delayed.
func TestDelayedNotFiredAfterShipped(t *testing.T) {
	x := lifeFixture(t, nil, nil, oi.EventDelayed, oi.EventShipped)
	setDelayed(t, x, 48*time.Hour)
	in := x.input("R-FAST")
	x.signalAt(10*time.Hour, ev("e1", oi.EventShipped))
	x.signalAt(100*time.Hour, ev("e2", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "shipped" {
		t.Fatalf("receiver got %v, want [shipped] only", got)
	}
}

// The printer's answer has no id where orderIdExpression looks: the
// system response stage says so.
func TestMissingPrinterOrderIDIsAWarning(t *testing.T) {
	x := lifeFixture(t, nil, nil)
	p := x.f.Printer
	p.OrderIDExpression = "data.order.id"
	if _, err := x.st.UpdatePrinter(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	in := x.input("R-NOID")
	x.signalAt(time.Hour, ev("e1", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	x.completed(t)
	o := x.order(t, in.OrderID)
	if o.PrinterOrderID != "" || o.Response == nil || !strings.Contains(string(o.Response.Warnings), "data.order.id") {
		t.Fatalf("printerOrderId=%q warnings=%s, want a warning naming the expression", o.PrinterOrderID, o.Response.Warnings)
	}
}
