package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/store"
	"orderintake/worker"
	"orderintake/workflows"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	env      *testsuite.TestWorkflowEnvironment
	st       *store.Store
	f        *testenv.Fixture
	printer  *testenv.Server
	receiver *testenv.Server
}

func newFixture(t *testing.T, printerScript []int, events ...string) *fixture {
	return newGuardedFixture(t, &delivery.Guard{AllowPrivate: true}, printerScript, events...)
}

// newGuardedFixture dials the printer and receivers through g.
func newGuardedFixture(t *testing.T, g *delivery.Guard, printerScript []int, events ...string) *fixture {
	st := testenv.Store(t)
	sealer := testenv.Sealer(t)
	x := &fixture{st: st, printer: testenv.NewServer(t, printerScript...), receiver: testenv.NewServer(t)}
	x.printer.Default = http.StatusCreated
	x.f = testenv.Seed(t, st, sealer, x.printer.URL, x.receiver.URL, events...)
	var ts testsuite.WorkflowTestSuite
	x.env = ts.NewTestWorkflowEnvironment()
	x.env.SetTestTimeout(60 * time.Second)
	worker.Register(x.env, worker.Activities(worker.Config{Store: st, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: sealer,
		Guard: g}))
	return x
}

func (x *fixture) input(ref string) workflows.OrderInput {
	body := `{"orderReferenceId": "` + ref + `", "items": [{"sku": "POSTER", "quantity": 2}]}`
	return workflows.OrderInput{OrderID: oi.OrderID(x.f.Customer.ID, ref), CustomerID: x.f.Customer.ID, Key: ref,
		OrderReferenceID: ref, ReceivedAt: time.Now().UTC(), ContentType: "application/json",
		Headers: map[string][]string{"content-type": {"application/json"}}, Body: []byte(body)}
}

// signalAt sends events after the workflow has had time to submit.
func (x *fixture) signalAt(after time.Duration, evs ...workflows.PrinterEvent) {
	x.env.RegisterDelayedCallback(func() {
		for _, ev := range evs {
			x.env.SignalWorkflow(workflows.SignalPrinterEvent, ev)
		}
	}, after)
}

func ev(id, status string) workflows.PrinterEvent {
	return workflows.PrinterEvent{EventID: id, Status: status, Timestamp: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), TrackingCode: "TC-" + id}
}

func (x *fixture) order(t *testing.T, id string) *oi.OrderRequest {
	o, err := x.st.GetOrderRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestPrinter5xxIsRetriedThenOrderCompletes(t *testing.T) {
	x := newFixture(t, []int{503, 502}, oi.EventReceived, oi.EventShipped, oi.EventDelivered)
	in := x.input("R-5XX")
	x.signalAt(time.Hour, ev("e1", oi.EventReceived), ev("e2", oi.EventShipped), ev("e3", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	if n := len(x.printer.Requests()); n != 3 {
		t.Fatalf("printer got %d requests, want 3 (503, 502, then 201)", n)
	}
	if key := x.printer.Requests()[2].Header.Get("Idempotency-Key"); key != in.OrderID {
		t.Fatalf("printer Idempotency-Key = %q, want the order id %q", key, in.OrderID)
	}
	var sent map[string]any
	if err := json.Unmarshal(x.printer.Requests()[0].Body, &sent); err != nil || sent["externalId"] != "R-5XX" {
		t.Fatalf("printer body = %s (%v), want the rendered template", x.printer.Requests()[0].Body, err)
	}
	o := x.order(t, in.OrderID)
	if o.Status != oi.EventDelivered || o.Response == nil || o.Response.Status != 201 || o.Response.Attempts != 3 {
		t.Fatalf("order status=%s response=%+v", o.Status, o.Response)
	}
	if got := x.receiver.Events(); len(got) != 3 || got[0] != "received" || got[1] != "shipped" || got[2] != "delivered" {
		t.Fatalf("receiver got %v, want [received shipped delivered]", got)
	}
}

func TestPrinter400FailsOrderWithoutRetryAndFiresFailed(t *testing.T) {
	x := newFixture(t, []int{400}, oi.EventFailed, oi.EventReceived)
	in := x.input("R-400")
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	if n := len(x.printer.Requests()); n != 1 {
		t.Fatalf("printer got %d requests, want exactly 1 (400 is not retried)", n)
	}
	o := x.order(t, in.OrderID)
	if o.Status != oi.EventFailed || o.StatusReason == "" {
		t.Fatalf("order status=%q reason=%q, want failed with a reason", o.Status, o.StatusReason)
	}
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "failed" {
		t.Fatalf("receiver got %v, want [failed]", got)
	}
	pbs, _ := x.st.ListOrderPostbacks(context.Background(), in.OrderID)
	if len(pbs) != 1 || pbs[0].Status != oi.PostbackDelivered || pbs[0].Attempts != 1 {
		t.Fatalf("postbacks = %+v", pbs)
	}
}

func TestTemplateErrorFailsOrder(t *testing.T) {
	x := newFixture(t, nil, oi.EventFailed)
	in := x.input("R-TPL")
	in.Body = []byte(`{"orderReferenceId": "R-TPL", "items": 7}`) // items is not iterable as the template expects
	_, err := x.st.UpdateTemplate(context.Background(), &oi.Template{ID: x.f.Customer.IntakeTemplateID, Name: "broken",
		Format: oi.FormatJSON, Body: `{"n": {{ nosuchfunction(1) }}}`})
	if err != nil {
		t.Fatal(err)
	}
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	o := x.order(t, in.OrderID)
	if o.Status != oi.EventFailed || len(o.Processing.Error) == 0 || o.Processing.TemplateVersion != 2 {
		t.Fatalf("order status=%s template error=%s version=%d", o.Status, o.Processing.Error, o.Processing.TemplateVersion)
	}
	if n := len(x.printer.Requests()); n != 0 {
		t.Fatalf("printer got %d requests after a template error", n)
	}
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "failed" {
		t.Fatalf("receiver got %v, want [failed]", got)
	}
}

func TestDuplicateEventFiresOnceAndEventAfterTerminalIsRejected(t *testing.T) {
	x := newFixture(t, nil, oi.EventReceived, oi.EventDelivered, oi.EventShipped)
	in := x.input("R-DUP")
	x.signalAt(time.Hour, ev("e1", oi.EventReceived), ev("e1", oi.EventReceived), ev("e2", oi.EventDelivered), ev("e3", oi.EventShipped))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	if got := x.receiver.Events(); len(got) != 2 || got[0] != "received" || got[1] != "delivered" {
		t.Fatalf("receiver got %v, want [received delivered]", got)
	}
	events, err := x.st.ListOrderEvents(context.Background(), in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("recorded %d events, want 3 (the repeat is not recorded twice)", len(events))
	}
	last := events[2]
	if last.EventID != "e3" || last.Accepted || last.RejectReason == "" {
		t.Fatalf("event after delivered = %+v, want rejected with a reason", last)
	}
	if o := x.order(t, in.OrderID); o.Status != oi.EventDelivered {
		t.Fatalf("status = %s, want delivered (a late shipped must not move it)", o.Status)
	}
}

// A printer in a loop: the 201st distinct event and beyond are recorded as
// rejected and fire nothing, and the seen set carried into continue-as-new
// holds at most MaxOrderEvents ids.
func TestEventsPastTheCapAreRejectedAndTheSeenSetStaysBounded(t *testing.T) {
	x := newFixture(t, nil, oi.EventShipped, oi.EventDelivered)
	in := x.input("R-FLOOD")
	var evs []workflows.PrinterEvent
	for i := 1; i < workflows.MaxOrderEvents; i++ {
		evs = append(evs, ev(fmt.Sprintf("p%03d", i), oi.EventInProduction))
	}
	evs = append(evs, ev("last-ok", oi.EventShipped), ev("over-1", oi.EventDelivered), ev("over-2", oi.EventDelivered),
		ev("p001", oi.EventInProduction)) // a repeat of a known event stays a no-op
	x.signalAt(time.Hour, evs...)
	// The test environment does not count history; say it grew past the limit.
	x.env.RegisterDelayedCallback(func() { x.env.SetCurrentHistoryLength(1 << 20) }, time.Hour+time.Second)
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)

	var cae *workflow.ContinueAsNewError
	if !x.env.IsWorkflowCompleted() || !errors.As(x.env.GetWorkflowError(), &cae) {
		t.Fatalf("workflow completed=%v err=%v, want continue-as-new after the flood", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	var next workflows.OrderInput
	if err := converter.GetDefaultDataConverter().FromPayloads(cae.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || len(next.State.SeenEvents) != workflows.MaxOrderEvents || slices.Contains(next.State.SeenEvents, "over-1") {
		t.Fatalf("carried state = %d seen ids (over-1 in it: %v), want exactly %d without the refused ones",
			len(next.State.SeenEvents), next.State != nil && slices.Contains(next.State.SeenEvents, "over-1"), workflows.MaxOrderEvents)
	}
	if next.State.Status != oi.EventShipped {
		t.Fatalf("carried status = %s, want shipped (the refused delivered must not move it)", next.State.Status)
	}
	if got := x.receiver.Events(); len(got) != 1 || got[0] != "shipped" {
		t.Fatalf("receiver got %v, want [shipped] only: events past the cap fire nothing", got)
	}
	events, err := x.st.ListOrderEvents(context.Background(), in.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != workflows.MaxOrderEvents+2 {
		t.Fatalf("recorded %d events, want %d (200 taken, 2 refused)", len(events), workflows.MaxOrderEvents+2)
	}
	for _, e := range events[workflows.MaxOrderEvents:] {
		if e.Accepted || !strings.Contains(e.RejectReason, "200 events") {
			t.Fatalf("event %s past the cap = accepted %v, reason %q; want rejected naming the cap", e.EventID, e.Accepted, e.RejectReason)
		}
	}
}

// A record that fails for good must not swallow the event: the printer's
// repeat is taken and fires its triggers.
func TestEventWhoseRecordFailedIsTakenOnRepeat(t *testing.T) {
	x := newFixture(t, nil, oi.EventReceived, oi.EventDelivered)
	acts := worker.Activities(worker.Config{Store: x.st, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: testenv.Sealer(t),
		Guard: &delivery.Guard{AllowPrivate: true}})
	failed := false
	// The event's one write (versionFewerRoundTrips: event and postbacks together).
	x.env.OnActivity(workflows.ActRecordEventAndPostbacks, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
			if in.Event.EventID == "e1" && !failed {
				failed = true
				return workflows.RecordEventResult{}, temporal.NewNonRetryableApplicationError("disk on fire", "Test", nil)
			}
			return acts.RecordEventAndPostbacks(ctx, in)
		})
	in := x.input("R-REPEAT")
	x.signalAt(time.Hour, ev("e1", oi.EventReceived))
	x.signalAt(2*time.Hour, ev("e1", oi.EventReceived))
	x.signalAt(3*time.Hour, ev("e2", oi.EventDelivered))
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	if !failed {
		t.Fatal("the first record of e1 was never attempted")
	}
	if got := x.receiver.Events(); len(got) != 2 || got[0] != "received" || got[1] != "delivered" {
		t.Fatalf("receiver got %v, want [received delivered]: the repeat of e1 must be taken", got)
	}
}

// A printer URL on loopback, private destinations not allowed: the order
// fails at once (no retry) with the refusal in the system response stage, and
// nothing reaches the printer. With the address in the allow-list it works.
func TestPrinterOnAPrivateAddressIsRefusedUnlessAllowListed(t *testing.T) {
	x := newGuardedFixture(t, &delivery.Guard{}, nil, oi.EventFailed)
	in := x.input("R-SSRF")
	x.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !x.env.IsWorkflowCompleted() || x.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", x.env.IsWorkflowCompleted(), x.env.GetWorkflowError())
	}
	if n := len(x.printer.Requests()); n != 0 {
		t.Fatalf("the loopback printer got %d requests, want none", n)
	}
	o := x.order(t, in.OrderID)
	if o.Status != oi.EventFailed || o.Response == nil || o.Response.Attempts != 1 ||
		!strings.Contains(o.Response.Error, "private address (127.0.0.1)") || !strings.Contains(o.Response.Error, "ORDERINTAKE_ALLOWED_DESTINATIONS") {
		t.Fatalf("order status=%s response=%+v, want failed after one attempt with the blocked destination named", o.Status, o.Response)
	}
	if !strings.Contains(o.StatusReason, "private address") {
		t.Fatalf("status reason = %q, want the refusal", o.StatusReason)
	}

	y := newGuardedFixture(t, &delivery.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, nil, oi.EventDelivered)
	in = y.input("R-ALLOWED")
	y.signalAt(time.Hour, ev("d1", oi.EventDelivered))
	y.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !y.env.IsWorkflowCompleted() || y.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", y.env.IsWorkflowCompleted(), y.env.GetWorkflowError())
	}
	if n := len(y.printer.Requests()); n != 1 {
		t.Fatalf("allow-listed printer got %d requests, want 1", n)
	}
	if o := y.order(t, in.OrderID); o.Status != oi.EventDelivered || o.Response == nil || o.Response.Status != 201 {
		t.Fatalf("allow-listed order status=%s response=%+v", o.Status, o.Response)
	}
}
