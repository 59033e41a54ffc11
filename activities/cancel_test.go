package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/activities"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/render"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// slowTemplate takes far longer than the deadlines below (each check scans a
// megabyte) while staying inside the engine's step and size limits.
const slowTemplate = `{% set s = "x" * 1000000 %}{% for i in range(100000) %}{% if "y" in s or "z" in s or "y" in s or "z" in s or "y" in s or "z" in s or "y" in s or "z" in s %}y{% endif %}{% endfor %}{"never": "reached"}`

func slowWorld(t *testing.T) (*store.Store, *testenv.Fixture, *activities.Activities) {
	st := testenv.Store(t)
	sealer := testenv.Sealer(t)
	fx := testenv.Seed(t, st, sealer, "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped)
	// The engine's own timeout is out of the way: only the caller's context can stop the render.
	eng := mapper.NewEngine(mapper.Options{Timeout: 10 * time.Minute})
	return st, fx, &activities.Activities{Store: st, Mapper: eng}
}

func nonRetryable(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable()
}

// A render cut short by the activity's deadline (a worker shutting down, a
// slow machine) is not a template error: the activity must be retried, and
// the order must not show a template error.
func TestCancelledIntakeRenderIsRetriedNotRecorded(t *testing.T) {
	st, fx, a := slowWorld(t)
	bg := context.Background()
	if _, err := st.UpdateTemplate(bg, &oi.Template{ID: fx.Customer.IntakeTemplateID, Name: "slow", Format: oi.FormatJSON, Body: slowTemplate}); err != nil {
		t.Fatal(err)
	}
	id := oi.OrderID(fx.Customer.ID, "R-SLOW")
	if err := st.InsertOrderRequest(bg, store.NewOrder{ID: id, CustomerID: fx.Customer.ID, PrinterID: fx.Printer.ID,
		WorkflowID: oi.WorkflowID(fx.Customer.ID, "R-SLOW"), IdempotencyKey: "R-SLOW", OrderReferenceID: "R-SLOW",
		ReceivedAt: time.Now().UTC(), ContentType: "application/json", Body: []byte(`{"orderReferenceId": "R-SLOW"}`)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 3*time.Second)
	defer cancel()
	_, err := a.ProcessTemplate(ctx, id)
	if err == nil || nonRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ProcessTemplate with an expiring context = %v (non-retryable %v), want a retryable deadline error", err, nonRetryable(err))
	}
	if strings.HasPrefix(err.Error(), "load ") {
		t.Skipf("the deadline passed before rendering started (busy machine): %v", err)
	}
	if !strings.Contains(err.Error(), "render intake template") {
		t.Fatalf("error %q does not say the render was cut short", err)
	}
	o, err := st.GetOrderRequest(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Processing.Error) > 0 || o.Processing.Output != nil {
		t.Fatalf("template processing recorded error=%s output=%q; want nothing until a retry renders it", o.Processing.Error, o.Processing.Output)
	}
}

// The same for a postback: a cut-short render is an error to retry, not a
// failed postback carrying a "template error".
func TestCancelledPostbackRenderIsRetried(t *testing.T) {
	st, fx, a := slowWorld(t)
	bg := context.Background()
	tr := fx.Triggers[oi.EventShipped]
	if _, err := st.UpdateTemplate(bg, &oi.Template{ID: tr.TemplateID, Name: "slow hook", Format: oi.FormatJSON, Body: slowTemplate}); err != nil {
		t.Fatal(err)
	}
	data, _ := mapper.SamplePostbackContext(oi.EventShipped)
	ctx, cancel := context.WithTimeout(bg, 3*time.Second)
	defer cancel()
	p, err := render.Trigger(ctx, st, a.Mapper, tr, data, nil)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		if p != nil {
			t.Fatalf("RenderTrigger with an expiring context gave a %s postback (%s); want a deadline error to retry", p.Status, p.StatusReason)
		}
		t.Fatalf("RenderTrigger with an expiring context = %v; want a deadline error to retry", err)
	}
}
