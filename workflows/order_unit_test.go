package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	oi "orderintake"
	"orderintake/activities"
	"orderintake/workflows"
)

// Unit tests of OrderWorkflow's logic with every activity mocked
// (env.OnActivity): no database, no printer. The tests in order_test.go run
// the same workflow over the real activities as integration tests.

// unit is a test environment whose activities record their calls and answer
// through the func fields, which a test may replace before it runs.
type unit struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	record    func(workflows.OrderInput) error
	template  func(orderID string) (workflows.TemplateResult, error)
	printer   func(orderID string) (workflows.PrinterResult, error)
	recordEv  func(workflows.RecordEventInput) (workflows.RecordEventResult, error)
	postbacks func(workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error)
	deliver   func(workflows.DeliverInput) (workflows.DeliverResult, error)
	// First tries (local activities). By default they answer as printer
	// and deliver do, a failed delivery as pending (the activity goes on).
	printerFirst func(context.Context, workflows.PrinterSendInput) (workflows.PrinterResult, error)
	deliverFirst func(context.Context, workflows.DeliverInput) (workflows.DeliverResult, error)

	mu        sync.Mutex
	calls     []string // activity names in call order
	statuses  []workflows.StatusInput
	events    []workflows.RecordEventInput
	created   []workflows.CreatePostbacksInput
	delivered []string // postback ids, in the order their delivery ended
	again     []workflows.PrinterSendInput
	firsts    []string // postback ids whose first try ran as a local activity
}

func newUnit(t *testing.T) *unit {
	var ts testsuite.WorkflowTestSuite
	u := &unit{t: t, env: ts.NewTestWorkflowEnvironment()}
	u.env.SetTestTimeout(30 * time.Second)
	u.env.RegisterWorkflow(workflows.OrderWorkflow)
	// Registered so the names resolve; every method is mocked below.
	u.env.RegisterActivity(&activities.Activities{})

	u.record = func(workflows.OrderInput) error { return nil }
	u.template = func(string) (workflows.TemplateResult, error) {
		return workflows.TemplateResult{TemplateID: "tpl_1", TemplateVersion: 1}, nil
	}
	u.printer = func(string) (workflows.PrinterResult, error) {
		return workflows.PrinterResult{Status: 201, Attempts: 1, LatencyMs: 5}, nil
	}
	u.recordEv = func(in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
		return workflows.RecordEventResult{OrderEventID: int64(len(u.events)), Inserted: true}, nil
	}
	// One pending webhook per event, all to the same receiver.
	u.postbacks = func(in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) {
		return []workflows.PostbackRef{{ID: "pb-" + in.Event.EventID, Destination: "https://hooks.example/a", Status: oi.PostbackPending}}, nil
	}
	u.deliver = func(workflows.DeliverInput) (workflows.DeliverResult, error) {
		return workflows.DeliverResult{Status: oi.PostbackDelivered, Attempts: 1}, nil
	}

	u.printerFirst = func(_ context.Context, in workflows.PrinterSendInput) (workflows.PrinterResult, error) {
		return u.printer(in.OrderID)
	}
	u.deliverFirst = func(_ context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
		res, err := u.deliver(in)
		if err != nil {
			return workflows.DeliverResult{Status: oi.PostbackPending, Attempts: 1, RetryIn: 5 * time.Second}, nil
		}
		return res, nil
	}
	u.env.OnActivity(workflows.ActOrderSettings, mock.Anything, mock.Anything).Return(
		workflows.OrderSettings{FailedHold: workflows.DefaultFailedOrderHold}, nil)
	u.env.OnActivity(workflows.ActSendToPrinterFirst, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in workflows.PrinterSendInput) (workflows.PrinterResult, error) {
			u.note(workflows.ActSendToPrinterFirst)
			return u.printerFirst(ctx, in)
		})
	u.env.OnActivity(workflows.ActSendToPrinterAgain, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.PrinterSendInput) (workflows.PrinterResult, error) {
			u.mu.Lock()
			u.calls = append(u.calls, workflows.ActSendToPrinterAgain)
			u.again = append(u.again, in)
			u.mu.Unlock()
			return u.printer(in.OrderID)
		})
	u.env.OnActivity(workflows.ActDeliverPostbackFirst, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
			res, err := u.deliverFirst(ctx, in)
			u.mu.Lock()
			defer u.mu.Unlock()
			u.calls = append(u.calls, workflows.ActDeliverPostbackFirst)
			u.firsts = append(u.firsts, in.PostbackID)
			if err == nil && res.Status != oi.PostbackPending {
				u.delivered = append(u.delivered, in.PostbackID)
			}
			return res, err
		})
	u.env.OnActivity(workflows.ActRecordRequest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.OrderInput) error {
			u.note(workflows.ActRecordRequest)
			return u.record(in)
		})
	u.env.OnActivity(workflows.ActProcessTemplate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (workflows.TemplateResult, error) {
			u.note(workflows.ActProcessTemplate)
			return u.template(id)
		})
	u.env.OnActivity(workflows.ActSendToPrinter, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (workflows.PrinterResult, error) {
			u.note(workflows.ActSendToPrinter)
			return u.printer(id)
		})
	u.env.OnActivity(workflows.ActSetOrderStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.StatusInput) error {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.calls = append(u.calls, workflows.ActSetOrderStatus)
			u.statuses = append(u.statuses, in)
			return nil
		})
	u.env.OnActivity(workflows.ActRecordEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.calls = append(u.calls, workflows.ActRecordEvent)
			u.events = append(u.events, in)
			return u.recordEv(in)
		})
	u.env.OnActivity(workflows.ActCreatePostbacks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.calls = append(u.calls, workflows.ActCreatePostbacks)
			u.created = append(u.created, in)
			return u.postbacks(in)
		})
	// The one write per event: the event as RecordEvent, then (accepted)
	// its postbacks as CreatePostbacks; either failing fails both.
	u.env.OnActivity(workflows.ActRecordEventAndPostbacks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.calls = append(u.calls, workflows.ActRecordEventAndPostbacks)
			u.events = append(u.events, in)
			res, err := u.recordEv(in)
			if err != nil || !in.Accepted {
				return res, err
			}
			pin := workflows.CreatePostbacksInput{OrderID: in.OrderID, OrderEventID: res.OrderEventID, Event: in.Event}
			u.created = append(u.created, pin)
			if res.Postbacks, err = u.postbacks(pin); err != nil {
				return workflows.RecordEventResult{}, err
			}
			return res, nil
		})
	u.env.OnActivity(workflows.ActDeliverPostback, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
			res, err := u.deliver(in)
			u.mu.Lock()
			defer u.mu.Unlock()
			u.calls = append(u.calls, workflows.ActDeliverPostback)
			u.delivered = append(u.delivered, in.PostbackID)
			return res, err
		})
	return u
}

func (u *unit) note(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, name)
}

func (u *unit) called(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.calls {
		if c == name {
			n++
		}
	}
	return n
}

// printerCalls counts the printer sends of every form.
func (u *unit) printerCalls() int {
	return u.called(workflows.ActSendToPrinter) + u.called(workflows.ActSendToPrinterFirst) + u.called(workflows.ActSendToPrinterAgain)
}

func unitInput(ref string) workflows.OrderInput {
	return workflows.OrderInput{OrderID: "ord_" + ref, CustomerID: "cus_1", Key: ref, OrderReferenceID: ref,
		ReceivedAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), ContentType: "application/json", Body: []byte(`{}`)}
}

// run starts the workflow with events signalled an hour in (after submit).
func (u *unit) run(in workflows.OrderInput, evs ...workflows.PrinterEvent) {
	u.t.Helper()
	if len(evs) > 0 {
		u.env.RegisterDelayedCallback(func() {
			for _, e := range evs {
				u.env.SignalWorkflow(workflows.SignalPrinterEvent, e)
			}
		}, time.Hour)
	}
	u.env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !u.env.IsWorkflowCompleted() {
		u.t.Fatal("workflow did not complete")
	}
}

func (u *unit) mustSucceed() {
	u.t.Helper()
	if err := u.env.GetWorkflowError(); err != nil {
		u.t.Fatalf("workflow failed: %v", err)
	}
}

func (u *unit) status() string {
	u.t.Helper()
	v, err := u.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		u.t.Fatal(err)
	}
	var s string
	if err := v.Get(&s); err != nil {
		u.t.Fatal(err)
	}
	return s
}

func (u *unit) eventIDs() []string {
	var out []string
	for _, e := range u.events {
		out = append(out, e.Event.EventID)
	}
	return out
}

func TestUnitOrderSubmittedThenEventsFirePostbacksInOrder(t *testing.T) {
	u := newUnit(t)
	var printed string
	u.printer = func(id string) (workflows.PrinterResult, error) {
		printed = id
		return workflows.PrinterResult{Status: 201, Attempts: 1}, nil
	}
	in := unitInput("R1")
	u.run(in, ev("e1", oi.EventReceived), ev("e2", oi.EventShipped), ev("e3", oi.EventDelivered))
	u.mustSucceed()

	if printed != in.OrderID {
		t.Fatalf("printer activity got order %q, want %q", printed, in.OrderID)
	}
	if len(u.statuses) != 1 || u.statuses[0] != (workflows.StatusInput{OrderID: in.OrderID, Status: oi.StatusSubmitted}) {
		t.Fatalf("status writes = %+v, want one: submitted", u.statuses)
	}
	if got := u.calls[:3]; !slices.Equal(got, []string{workflows.ActRecordRequest, workflows.ActProcessTemplate, workflows.ActSendToPrinterFirst}) {
		t.Fatalf("first activities = %v, want record, template, printer (first try)", got)
	}
	if n := u.called(workflows.ActSendToPrinterAgain) + u.called(workflows.ActDeliverPostback); n != 0 {
		t.Fatalf("%d regular activities ran after first tries that went through: %v", n, u.calls)
	}
	for _, e := range u.events {
		if !e.Accepted || e.Source != "printer" || e.OrderID != in.OrderID {
			t.Fatalf("event recorded as %+v, want accepted from the printer", e)
		}
	}
	if want := []string{"pb-e1", "pb-e2", "pb-e3"}; !slices.Equal(u.delivered, want) {
		t.Fatalf("delivered %v, want %v (one destination: in event order)", u.delivered, want)
	}
	if s := u.status(); s != oi.EventDelivered {
		t.Fatalf("status query = %q, want delivered", s)
	}
}

func TestUnitRecordRequestFailureFailsWorkflow(t *testing.T) {
	u := newUnit(t)
	u.record = func(workflows.OrderInput) error {
		return temporal.NewNonRetryableApplicationError("no such customer", workflows.ErrOrderConfig, nil)
	}
	u.run(unitInput("R2"))
	err := u.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "record request") {
		t.Fatalf("workflow error = %v, want one about recording the request", err)
	}
	if n := u.called(workflows.ActProcessTemplate) + u.printerCalls(); n != 0 {
		t.Fatalf("template or printer ran %d times after the request could not be recorded", n)
	}
}

// A failed submit marks the order failed with a reason, records a system
// "failed" event and fires its postbacks, then ends (failed is terminal).
func TestUnitSubmitFailures(t *testing.T) {
	for _, c := range []struct {
		name, prefix string
		breakIt      func(u *unit)
		printerCalls int
	}{
		{"template error", "template processing failed: ", func(u *unit) {
			u.template = func(string) (workflows.TemplateResult, error) {
				return workflows.TemplateResult{}, temporal.NewNonRetryableApplicationError("line 1: unknown function", workflows.ErrTemplate, nil)
			}
		}, 0},
		{"printer refused", "printer did not take the order: ", func(u *unit) {
			u.printer = func(string) (workflows.PrinterResult, error) {
				return workflows.PrinterResult{}, temporal.NewNonRetryableApplicationError("printer answered 400", workflows.ErrPrinterRejected, nil)
			}
		}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUnit(t)
			c.breakIt(u)
			u.run(unitInput("R3"))
			u.mustSucceed()
			if n := u.printerCalls(); n != c.printerCalls {
				t.Fatalf("printer called %d times, want %d", n, c.printerCalls)
			}
			if len(u.statuses) != 1 || u.statuses[0].Status != oi.EventFailed || !strings.HasPrefix(u.statuses[0].Reason, c.prefix) {
				t.Fatalf("status writes = %+v, want failed with reason %q…", u.statuses, c.prefix)
			}
			if len(u.events) != 1 {
				t.Fatalf("events recorded = %+v, want the system's failed event", u.events)
			}
			e := u.events[0]
			if e.Source != "system" || !e.Accepted || e.Event.Status != oi.EventFailed || e.Event.Message != u.statuses[0].Reason {
				t.Fatalf("failed event = %+v, want accepted from the system with the reason", e)
			}
			if !slices.Equal(u.delivered, []string{"pb-" + e.Event.EventID}) {
				t.Fatalf("delivered %v, want the failed event's postback", u.delivered)
			}
			if s := u.status(); s != oi.EventFailed {
				t.Fatalf("status query = %q, want failed", s)
			}
		})
	}
}

func TestUnitRepeatedAndUnnamedEventsAreIgnored(t *testing.T) {
	u := newUnit(t)
	u.run(unitInput("R4"), ev("e1", oi.EventReceived), ev("e1", oi.EventReceived), ev("", oi.EventShipped), ev("e2", oi.EventDelivered))
	u.mustSucceed()
	if got := u.eventIDs(); !slices.Equal(got, []string{"e1", "e2"}) {
		t.Fatalf("recorded events %v, want [e1 e2]", got)
	}
	if !slices.Equal(u.delivered, []string{"pb-e1", "pb-e2"}) {
		t.Fatalf("delivered %v, want one postback per distinct event", u.delivered)
	}
}

func TestUnitEventAfterTerminalIsRecordedAsRejected(t *testing.T) {
	u := newUnit(t)
	u.run(unitInput("R5"), ev("e1", oi.EventDelivered), ev("e2", oi.EventShipped))
	u.mustSucceed()
	if len(u.events) != 2 {
		t.Fatalf("recorded %d events, want 2", len(u.events))
	}
	late := u.events[1]
	if late.Accepted || !strings.Contains(late.RejectReason, "already delivered") {
		t.Fatalf("late event = %+v, want rejected as the order is already delivered", late)
	}
	if len(u.created) != 1 || u.created[0].Event.EventID != "e1" {
		t.Fatalf("postbacks created for %+v, want only e1", u.created)
	}
	if s := u.status(); s != oi.EventDelivered {
		t.Fatalf("status = %q, want delivered (a late shipped must not move it)", s)
	}
}

func TestUnitRecordEventFailureSkipsThatEvent(t *testing.T) {
	u := newUnit(t)
	u.recordEv = func(in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
		if in.Event.EventID == "e1" {
			return workflows.RecordEventResult{}, temporal.NewNonRetryableApplicationError("constraint", "X", nil)
		}
		return workflows.RecordEventResult{OrderEventID: 2, Inserted: true}, nil
	}
	u.run(unitInput("R6"), ev("e1", oi.EventShipped), ev("e2", oi.EventDelivered))
	u.mustSucceed()
	if len(u.created) != 1 || u.created[0].Event.EventID != "e2" || u.created[0].OrderEventID != 2 {
		t.Fatalf("postbacks created for %+v, want only e2 with its stored event id", u.created)
	}
}

// An event whose recording failed is not marked seen: the printer's repeat
// of it is taken.
func TestUnitUnrecordedEventIsTakenWhenRepeated(t *testing.T) {
	u := newUnit(t)
	failed := false
	u.recordEv = func(in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
		if in.Event.EventID == "e1" && !failed {
			failed = true
			return workflows.RecordEventResult{}, temporal.NewNonRetryableApplicationError("database away", "X", nil)
		}
		return workflows.RecordEventResult{OrderEventID: 7, Inserted: true}, nil
	}
	u.run(unitInput("R11"), ev("e1", oi.EventShipped), ev("e1", oi.EventShipped), ev("e2", oi.EventDelivered))
	u.mustSucceed()
	if got := u.eventIDs(); !slices.Equal(got, []string{"e1", "e1", "e2"}) {
		t.Fatalf("record attempts %v, want e1 twice (the first failed), then e2", got)
	}
	if !slices.Equal(u.delivered, []string{"pb-e1", "pb-e2"}) {
		t.Fatalf("delivered %v, want e1's postback once and e2's", u.delivered)
	}
}

// Past MaxOrderEvents distinct events, an order records further events as
// rejected and fires nothing for them (a printer in a loop).
func TestUnitEventsPastTheCapAreRejected(t *testing.T) {
	u := newUnit(t)
	u.postbacks = func(in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) { return nil, nil }
	var evs []workflows.PrinterEvent
	for i := range workflows.MaxOrderEvents + 2 {
		evs = append(evs, ev(fmt.Sprintf("loop-%03d", i), oi.EventInTransit))
	}
	evs = append(evs, ev("last", oi.EventDelivered))
	u.run(unitInput("R12"), evs...)
	// Not completed: delivered came past the cap, so it was refused too.
	if err := u.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("workflow error = %v, want it still waiting (the terminal event was refused past the cap)", err)
	}
	accepted, rejected := 0, 0
	for _, e := range u.events {
		if e.Accepted {
			accepted++
		} else if strings.Contains(e.RejectReason, "the most one order takes") {
			rejected++
		}
	}
	if accepted != workflows.MaxOrderEvents || rejected != len(evs)-workflows.MaxOrderEvents {
		t.Fatalf("accepted %d, rejected for the cap %d; want %d accepted and the other %d rejected",
			accepted, rejected, workflows.MaxOrderEvents, len(evs)-workflows.MaxOrderEvents)
	}
	if len(u.created) != accepted {
		t.Fatalf("postbacks created for %d events, want only the %d accepted", len(u.created), accepted)
	}
}

// The event and its postbacks are one write: when the postbacks cannot be
// created the event is not taken either (no status move), and the
// printer's repeat of it is.
func TestUnitCreatePostbacksFailureLeavesTheEventForItsRepeat(t *testing.T) {
	u := newUnit(t)
	failed := false
	u.postbacks = func(in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) {
		if !failed {
			failed = true
			return nil, temporal.NewNonRetryableApplicationError("database away", "X", nil)
		}
		return []workflows.PostbackRef{{ID: "pb-" + in.Event.EventID, Destination: "https://hooks.example/a", Status: oi.PostbackPending}}, nil
	}
	u.run(unitInput("R7"), ev("e1", oi.EventDelivered), ev("e1", oi.EventDelivered))
	u.mustSucceed()
	if got := u.eventIDs(); !slices.Equal(got, []string{"e1", "e1"}) {
		t.Fatalf("record attempts %v, want e1 twice (the first failed with its postbacks)", got)
	}
	if !slices.Equal(u.delivered, []string{"pb-e1"}) {
		t.Fatalf("delivered %v, want e1's postback once", u.delivered)
	}
	if s := u.status(); s != oi.EventDelivered {
		t.Fatalf("status = %q, want delivered", s)
	}
}

// Each destination has its own queue in event order; a failed delivery
// does not stop the queue; postbacks not pending are not delivered; the
// workflow ends only when every queue is drained.
func TestUnitDeliveryQueuesPerDestination(t *testing.T) {
	u := newUnit(t)
	u.postbacks = func(in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) {
		id := in.Event.EventID
		return []workflows.PostbackRef{
			{ID: "a-" + id, Destination: "https://a.example", Status: oi.PostbackPending},
			{ID: "b-" + id, Destination: "mailto:ops@b.example", Status: oi.PostbackPending},
			{ID: "off-" + id, Destination: "https://c.example", Status: oi.PostbackFailed},
		}, nil
	}
	var mu sync.Mutex
	u.deliver = func(in workflows.DeliverInput) (workflows.DeliverResult, error) {
		mu.Lock()
		defer mu.Unlock()
		switch in.PostbackID {
		case "a-e1":
			return workflows.DeliverResult{}, temporal.NewNonRetryableApplicationError("receiver gone", "X", nil)
		case "b-e2":
			// The last delivery ends long after the terminal event arrived.
			time.Sleep(50 * time.Millisecond)
		}
		return workflows.DeliverResult{Status: oi.PostbackDelivered, Attempts: 1}, nil
	}
	u.run(unitInput("R8"), ev("e1", oi.EventShipped), ev("e2", oi.EventDelivered))
	u.mustSucceed()
	got := slices.Clone(u.delivered)
	slices.Sort(got)
	if want := []string{"a-e1", "a-e2", "b-e1", "b-e2"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v (not the postback that is not pending)", got, want)
	}
	pos := func(id string) int { return slices.Index(u.delivered, id) }
	if pos("a-e1") > pos("a-e2") || pos("b-e1") > pos("b-e2") {
		t.Fatalf("delivery order %v: a destination's postbacks must go in event order", u.delivered)
	}
}

// A run continued as new starts from its carried state: no second record
// or submit, and the events it saw stay seen.
func TestUnitContinuedRunKeepsStatusAndSeenEvents(t *testing.T) {
	u := newUnit(t)
	in := unitInput("R9")
	in.Body, in.Headers = nil, nil
	in.State = &workflows.OrderState{Status: oi.EventShipped, SeenEvents: []string{"e1", "e2"}}
	u.run(in, ev("e2", oi.EventShipped), ev("e3", oi.EventDelivered))
	u.mustSucceed()
	for _, name := range []string{workflows.ActRecordRequest, workflows.ActProcessTemplate, workflows.ActSendToPrinter,
		workflows.ActSendToPrinterFirst, workflows.ActSendToPrinterAgain} {
		if n := u.called(name); n != 0 {
			t.Fatalf("%s ran %d times in a continued run", name, n)
		}
	}
	if got := u.eventIDs(); !slices.Equal(got, []string{"e3"}) {
		t.Fatalf("recorded %v, want only the new event e3", got)
	}
}

// The continue-as-new branch (history over historyLimit) cannot run here:
// the test environment never advances GetCurrentHistoryLength. Its other
// half, a run started from carried state, is covered just above.

// ---- first tries as local activities (versionFewerRoundTrips)

// A first try that settles the postback is the whole delivery: no activity.
func TestUnitFirstTrySettlesThePostback(t *testing.T) {
	u := newUnit(t)
	u.deliver = func(in workflows.DeliverInput) (workflows.DeliverResult, error) {
		if in.SendTimeout != workflows.FirstTrySend {
			t.Errorf("first try of %s with send timeout %v, want %v", in.PostbackID, in.SendTimeout, workflows.FirstTrySend)
		}
		if in.PostbackID == "pb-e1" {
			return workflows.DeliverResult{Status: oi.PostbackFailed, Attempts: 1}, nil // a 400: final too
		}
		return workflows.DeliverResult{Status: oi.PostbackDelivered, Attempts: 1}, nil
	}
	u.run(unitInput("F1"), ev("e1", oi.EventShipped), ev("e2", oi.EventDelivered))
	u.mustSucceed()
	if !slices.Equal(u.firsts, []string{"pb-e1", "pb-e2"}) || !slices.Equal(u.delivered, []string{"pb-e1", "pb-e2"}) {
		t.Fatalf("first tries %v, settled %v; want both settled by their first try", u.firsts, u.delivered)
	}
	if n := u.called(workflows.ActDeliverPostback); n != 0 {
		t.Fatalf("the delivery activity ran %d times after first tries that settled their postbacks", n)
	}
}

// A first try that leaves the postback pending hands it to the activity
// after the schedule's delay the first try reported; the destination's next
// postback waits for it (event order).
func TestUnitFailedFirstTryGoesToTheActivityAfterItsDelay(t *testing.T) {
	u := newUnit(t)
	var firstAt, activityAt time.Time
	u.deliverFirst = func(_ context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
		if in.PostbackID == "pb-e1" {
			firstAt = u.env.Now()
			return workflows.DeliverResult{Status: oi.PostbackPending, Attempts: 1, RetryIn: 5 * time.Second}, nil
		}
		return workflows.DeliverResult{Status: oi.PostbackDelivered, Attempts: 1}, nil
	}
	u.deliver = func(in workflows.DeliverInput) (workflows.DeliverResult, error) {
		activityAt = u.env.Now()
		if in.SendTimeout != 0 || in.Manual {
			t.Errorf("activity input %+v, want the postback alone (the sender's own timeout)", in)
		}
		return workflows.DeliverResult{Status: oi.PostbackDelivered, Attempts: 2}, nil
	}
	u.run(unitInput("F2"), ev("e1", oi.EventShipped), ev("e2", oi.EventDelivered))
	u.mustSucceed()
	if got := u.called(workflows.ActDeliverPostback); got != 1 {
		t.Fatalf("delivery activity ran %d times, want once (for e1)", got)
	}
	if wait := activityAt.Sub(firstAt); wait < 5*time.Second || wait > 6*time.Second {
		t.Fatalf("the activity started %v after the first try, want the 5 s it reported", wait)
	}
	if !slices.Equal(u.delivered, []string{"pb-e1", "pb-e2"}) {
		t.Fatalf("settled %v, want e1 (by the activity) before e2 (same destination)", u.delivered)
	}
}

// A first try that hangs is cut at FirstTryCap and the activity takes over
// at once; the workflow task is held no longer than the cap.
func TestUnitFirstTryCutAtTheCapGoesToTheActivity(t *testing.T) {
	u := newUnit(t)
	var held time.Duration
	u.deliverFirst = func(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
		start := time.Now()
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		held = time.Since(start)
		return workflows.DeliverResult{}, ctx.Err()
	}
	u.run(unitInput("F3"), ev("e1", oi.EventDelivered))
	u.mustSucceed()
	if held < workflows.FirstTryCap-100*time.Millisecond || held > workflows.FirstTryCap+time.Second {
		t.Fatalf("the first try ran %v, want it cut at the cap %v", held, workflows.FirstTryCap)
	}
	if !slices.Equal(u.delivered, []string{"pb-e1"}) || u.called(workflows.ActDeliverPostback) != 1 {
		t.Fatalf("settled %v by %d activity runs, want pb-e1 by the activity", u.delivered, u.called(workflows.ActDeliverPostback))
	}
}

// The printer's first try: taken (no activity); refused (the order fails,
// no activity); failed or cut at the cap (the activity, after the retry
// policy's first wait, counting its attempts after the first try's).
func TestUnitPrinterFirstTry(t *testing.T) {
	retryable := func(context.Context, workflows.PrinterSendInput) (workflows.PrinterResult, error) {
		return workflows.PrinterResult{}, errors.New("printer answered 503")
	}
	hangs := func(ctx context.Context, _ workflows.PrinterSendInput) (workflows.PrinterResult, error) {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		return workflows.PrinterResult{}, ctx.Err()
	}
	refused := func(context.Context, workflows.PrinterSendInput) (workflows.PrinterResult, error) {
		return workflows.PrinterResult{}, temporal.NewNonRetryableApplicationError("printer answered 400", workflows.ErrPrinterRejected, nil)
	}
	for _, c := range []struct {
		name   string
		first  func(context.Context, workflows.PrinterSendInput) (workflows.PrinterResult, error)
		again  int
		status string
	}{
		{"taken", nil, 0, oi.StatusSubmitted},
		{"refused", refused, 0, oi.EventFailed},
		{"failed", retryable, 1, oi.StatusSubmitted},
		{"cut at the cap", hangs, 1, oi.StatusSubmitted},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUnit(t)
			var firstAt, againAt time.Time
			if c.first != nil {
				u.printerFirst = func(ctx context.Context, in workflows.PrinterSendInput) (workflows.PrinterResult, error) {
					firstAt = u.env.Now()
					return c.first(ctx, in)
				}
			}
			u.printer = func(string) (workflows.PrinterResult, error) {
				againAt = u.env.Now()
				return workflows.PrinterResult{Status: 201, Attempts: 2}, nil
			}
			in := unitInput("P-" + strings.ReplaceAll(c.name, " ", "-"))
			u.run(in)
			if c.status == oi.EventFailed {
				u.mustSucceed()
			}
			if n := u.called(workflows.ActSendToPrinterFirst); n != 1 {
				t.Fatalf("first try ran %d times", n)
			}
			if len(u.again) != c.again || u.called(workflows.ActSendToPrinter) != 0 {
				t.Fatalf("activity ran %d times (%+v), want %d", len(u.again), u.again, c.again)
			}
			if c.again > 0 {
				if u.again[0] != (workflows.PrinterSendInput{OrderID: in.OrderID, PriorAttempts: 1}) {
					t.Fatalf("activity input %+v, want the order with one prior attempt", u.again[0])
				}
				if wait := againAt.Sub(firstAt); wait < time.Second {
					t.Fatalf("activity came %v after the first try, want the retry policy's first wait (1 s)", wait)
				}
			}
			if s := u.status(); s != c.status {
				t.Fatalf("status %q, want %q", s, c.status)
			}
		})
	}
}

// OrderStatus is upserted once per workflow task and only on a change:
// events taken together make one visibility write, a status the order
// already shows none.
func TestUnitStatusIsShownOncePerChange(t *testing.T) {
	u := newUnit(t)
	if err := u.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(workflows.AttrOrderStatus.ValueSet(oi.StatusAccepted))); err != nil {
		t.Fatal(err)
	}
	var shown []string
	u.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		v, _ := args.Get(0).(temporal.SearchAttributes).GetKeyword(workflows.AttrOrderStatus)
		shown = append(shown, v)
	}).Return(nil)
	// Three events in one signal batch (one workflow task), then a repeat
	// of the status the order already has, then the end.
	u.run(unitInput("V1"), ev("e1", oi.EventReceived), ev("e2", oi.EventInProduction), ev("e3", oi.EventShipped))
	if !slices.Equal(shown, []string{oi.StatusSubmitted, oi.EventShipped}) {
		t.Fatalf("OrderStatus upserts %v, want [submitted shipped]: one per workflow task that moved it", shown)
	}
	if s := u.status(); s != oi.EventShipped {
		t.Fatalf("status %q, want shipped", s)
	}
}
