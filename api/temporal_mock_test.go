package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	oi "orderintake"
	"orderintake/internal/webtest"
	"orderintake/workflows"
)

// Intake and printer events against the SDK's client mock: what the API
// asks of Temporal and how it answers each outcome, with no Temporal server
// (the e2e tests run the same routes against a real one).

type mocked struct {
	*webtest.Env
	tc          *mocks.Client
	customerKey string
	printerKey  string
}

func newMocked(t *testing.T) *mocked {
	t.Helper()
	tc := mocks.NewClient(t)
	e := webtest.NewWith(t, webtest.Options{Temporal: tc, Seed: true})
	st := e.Store
	ctx := context.Background()
	ck, err := st.CreateKey(ctx, oi.OwnerCustomer, e.Fx.Customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := st.CreateKey(ctx, oi.OwnerPrinter, e.Fx.Printer.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &mocked{Env: e, tc: tc, customerKey: ck.Key, printerKey: pk.Key}
}

const mockOrder = `{"orderReferenceId": "M-1", "items": [{"sku": "MUG", "quantity": 1}]}`

func (m *mocked) submit(body, key string) (int, map[string]any) {
	m.T.Helper()
	hdr := map[string]string{"X-API-KEY": m.customerKey}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	status, out, _, _ := m.Do("POST", "/v1/orders", hdr, body)
	return status, out
}

func TestIntakeStartsTheOrderWorkflow(t *testing.T) {
	m := newMocked(t)
	cust := m.Fx.Customer.ID
	var opts client.StartWorkflowOptions
	var in workflows.OrderInput
	m.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			opts = args.Get(1).(client.StartWorkflowOptions)
			in = args.Get(3).(workflows.OrderInput)
		}).Return(nil, nil).Once()

	status, out := m.submit(mockOrder, "")
	if status != 202 {
		t.Fatalf("submit = %d %v, want 202", status, out)
	}
	wantID := oi.OrderID(cust, "M-1")
	if out["id"] != wantID || out["orderReferenceId"] != "M-1" || out["status"] != oi.StatusAccepted {
		t.Fatalf("answer = %v, want id %s, reference M-1, accepted", out, wantID)
	}
	// The answer links the workflow in the Web UI (and the client checked
	// the answer against the OpenAPI document, so links.workflow is in it).
	links, _ := out["links"].(map[string]any)
	if wf, _ := links["workflow"].(string); !strings.HasPrefix(wf, webtest.TemporalUIURL+"/") || !strings.Contains(wf, url.PathEscape(oi.WorkflowID(cust, "M-1"))) {
		t.Fatalf("links = %v, want a Web UI link to the order's workflow", links)
	}
	// The reference is the key when no Idempotency-Key is sent.
	if opts.ID != oi.WorkflowID(cust, "M-1") || opts.TaskQueue != workflows.TaskQueue {
		t.Fatalf("started %q on %q", opts.ID, opts.TaskQueue)
	}
	if opts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL || !opts.WorkflowExecutionErrorWhenAlreadyStarted {
		t.Fatal("a repeated key must fail the start (and be answered from the existing order), not attach to it")
	}
	if opts.Memo[workflows.MemoOrderID] != wantID || opts.Memo[workflows.MemoBodyHash] == "" {
		t.Fatalf("memo = %v", opts.Memo)
	}
	if in.OrderID != wantID || in.CustomerID != cust || in.Key != "M-1" || string(in.Body) != mockOrder || in.ContentType != "application/json" {
		t.Fatalf("workflow input = %+v", in)
	}
	if _, ok := in.Headers["x-api-key"]; ok {
		t.Fatal("the customer's key was passed into the workflow's recorded headers")
	}
}

// describeWith answers DescribeWorkflowExecution with the memo of an order
// started from body.
func (m *mocked) describeWith(body string) {
	var hash string
	m.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			hash = args.Get(1).(client.StartWorkflowOptions).Memo[workflows.MemoBodyHash].(string)
		}).Return(nil, nil).Once()
	if status, out := m.submit(body, "K-1"); status != 202 {
		m.T.Fatalf("first submit = %d %v", status, out)
	}
	m.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")).Once()
	m.tc.On("DescribeWorkflowExecution", mock.Anything, oi.WorkflowID(m.Fx.Customer.ID, "K-1"), "").
		Return(func(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
			p, err := converter.GetDefaultDataConverter().ToPayload(hash)
			if err != nil {
				return nil, err
			}
			return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
				Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoBodyHash: p}}}}, nil
		}).Once()
}

func TestIntakeRepeatSameBodyIsTheSameOrder(t *testing.T) {
	m := newMocked(t)
	m.describeWith(mockOrder)
	status, out := m.submit(mockOrder, "K-1")
	if status != 200 || out["id"] != oi.OrderID(m.Fx.Customer.ID, "K-1") {
		t.Fatalf("repeat = %d %v, want 200 with the existing order", status, out)
	}
}

func TestIntakeRepeatOtherBodyConflicts(t *testing.T) {
	m := newMocked(t)
	m.describeWith(mockOrder)
	status, out := m.submit(strings.Replace(mockOrder, `"quantity": 1`, `"quantity": 9`, 1), "K-1")
	if status != 409 || out["code"] != oi.ECONFLICT || out["field"] != "Idempotency-Key" {
		t.Fatalf("repeat with another body = %d %v, want 409 on Idempotency-Key", status, out)
	}
}

func TestIntakeWhenTemporalFails(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		detail string // what the client must be told
	}{
		{"timeout", context.DeadlineExceeded, "may have been accepted"},
		{"unavailable", serviceerror.NewUnavailable("connection refused"), "nothing was recorded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMocked(t)
			m.tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, c.err).Once()
			status, out := m.submit(mockOrder, "")
			if status != 503 || !strings.Contains(out["detail"].(string), c.detail) {
				t.Fatalf("submit = %d %v, want 503 saying %q", status, out, c.detail)
			}
			if strings.Contains(out["detail"].(string), "connection refused") {
				t.Fatal("the internal error reached the client")
			}
		})
	}
}

// order records an order routed to the fixture's printer and returns its id.
func (m *mocked) routedOrder(ref string) string {
	m.T.Helper()
	return m.Order(ref, time.Now().UTC())
}

func (m *mocked) event(orderID, body string) (int, map[string]any) {
	m.T.Helper()
	status, out, _, _ := m.Do("POST", "/v1/printer/orders/"+orderID+"/events", map[string]string{"X-API-KEY": m.printerKey}, body)
	return status, out
}

func TestPrinterEventIsSignalled(t *testing.T) {
	m := newMocked(t)
	id := m.routedOrder("E-1")
	var got workflows.PrinterEvent
	m.tc.On("SignalWorkflow", mock.Anything, oi.WorkflowID(m.Fx.Customer.ID, "E-1"), "", workflows.SignalPrinterEvent, mock.Anything).
		Run(func(args mock.Arguments) { got = args.Get(4).(workflows.PrinterEvent) }).Return(nil).Once()
	status, out := m.event(id, `{"eventId": "ev-1", "status": "shipped", "timestamp": "2026-11-22T10:00:00Z", "trackingCode": "TC1"}`)
	if status != 202 || out["result"] != "queued" {
		t.Fatalf("event = %d %v, want 202 queued", status, out)
	}
	if got.EventID != "ev-1" || got.Status != oi.EventShipped || got.TrackingCode != "TC1" || got.Timestamp.IsZero() {
		t.Fatalf("signalled %+v", got)
	}
}

func TestPrinterEventAfterWorkflowEnded(t *testing.T) {
	m := newMocked(t)
	id := m.routedOrder("E-2")
	m.tc.On("SignalWorkflow", mock.Anything, mock.Anything, "", workflows.SignalPrinterEvent, mock.Anything).
		Return(serviceerror.NewNotFound("workflow execution already completed"))
	ev := `{"eventId": "late-1", "status": "shipped", "timestamp": "2026-11-22T10:00:00Z"}`
	status, out := m.event(id, ev)
	if status != 409 || out["code"] != oi.ECONFLICT {
		t.Fatalf("event on an ended order = %d %v, want 409", status, out)
	}
	events, err := m.Store.ListOrderEvents(context.Background(), id)
	if err != nil || len(events) != 1 || events[0].Accepted || events[0].RejectReason == "" {
		t.Fatalf("recorded %+v (%v), want the event kept as rejected", events, err)
	}
	// The printer's retry of the same event is a duplicate, not a new refusal.
	if status, out := m.event(id, ev); status != 200 || out["result"] != "duplicate" {
		t.Fatalf("repeat = %d %v, want 200 duplicate", status, out)
	}
}

func TestPrinterEventWhenTemporalIsDown(t *testing.T) {
	m := newMocked(t)
	id := m.routedOrder("E-3")
	m.tc.On("SignalWorkflow", mock.Anything, mock.Anything, "", workflows.SignalPrinterEvent, mock.Anything).
		Return(serviceerror.NewUnavailable("dial tcp 127.0.0.1:7233: connection refused")).Once()
	status, out := m.event(id, `{"eventId": "ev-3", "status": "shipped", "timestamp": "2026-11-22T10:00:00Z"}`)
	if status != 503 || strings.Contains(out["detail"].(string), "7233") {
		t.Fatalf("event = %d %v, want 503 without internals", status, out)
	}
}
