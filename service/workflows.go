// Package service is what the JSON API (api/) and the HQ pages share: the
// operations on orders and postbacks that go beyond one store call. It is
// the one place that starts workflows (their start options written once)
// and signals them; errors come back as *orderintake.Error, which each
// face maps to its own answer (a problem document, an HTML page).
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/store"
	"orderintake/workflows"
)

// Workflows starts and signals the product's workflows.
type Workflows struct {
	Temporal client.Client
	Store    *store.Store
	Log      *slog.Logger
}

// callTimeout bounds one call to Temporal from a request.
const callTimeout = 10 * time.Second

// startOptions are the options of every workflow we start. A second start
// with the same id is an error, never a quiet attach to (or reuse of) the
// existing run: the caller decides what a repeat means.
func startOptions(id string, memo map[string]any, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     memo,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
		// Where a worker shares this client (dev, bench --in-process), the
		// first workflow task comes back in the start's answer instead of
		// through matching; with no such worker the SDK asks for nothing.
		EnableEagerStart: true,
	}
}

// OrderStarted is an order whose workflow runs: just started, or a repeat
// of a request already taken (same key, same body).
type OrderStarted struct {
	OrderID    string
	Reference  string
	Status     string
	WorkflowID string
	Repeat     bool
}

// StartOrder starts the order's workflow. A repeat of the same key with the
// same body (bodyHash) answers the existing order; another body under that
// key is a conflict. When Temporal does not answer in time the order may
// exist: the error says so, and a repeat is safe.
func (w *Workflows) StartOrder(ctx context.Context, in workflows.OrderInput, bodyHash string) (*OrderStarted, error) {
	wfID := oi.WorkflowID(in.CustomerID, in.Key)
	opts := startOptions(wfID, map[string]any{workflows.MemoBodyHash: bodyHash, workflows.MemoOrderID: in.OrderID},
		workflows.AttrCustomerID.ValueSet(in.CustomerID),
		workflows.AttrOrderReferenceID.ValueSet(in.OrderReferenceID),
		workflows.AttrOrderStatus.ValueSet(oi.StatusAccepted))
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := w.Temporal.ExecuteWorkflow(sctx, opts, workflows.OrderWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		w.Log.Info("order accepted", "orderId", in.OrderID, "workflowId", wfID, "customerId", in.CustomerID)
		return &OrderStarted{OrderID: in.OrderID, Reference: in.OrderReferenceID, Status: oi.StatusAccepted, WorkflowID: wfID}, nil
	case errors.As(err, &started):
		return w.repeatedOrder(ctx, in, wfID, bodyHash)
	case timedOut(err):
		// The start may have reached Temporal before the deadline: say so. A
		// retry with the same key and body is safe (answered 200 if it landed).
		w.Log.Error("start order workflow timed out", "orderId", in.OrderID, "workflowId", wfID, "error", err)
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the order could not be confirmed in time; it may have been accepted. " +
			"Send the same request again (same body, same Idempotency-Key): a repeat is answered with the existing order", Detail: map[string]any{"orderId": in.OrderID}}
	default:
		w.Log.Error("start order workflow", "orderId", in.OrderID, "workflowId", wfID, "error", err)
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "orders cannot be accepted right now; nothing was recorded, try again"}
	}
}

// repeatedOrder answers a start whose key already has an order: the same
// body gets the existing order, another body is a conflict.
func (w *Workflows) repeatedOrder(ctx context.Context, in workflows.OrderInput, wfID, bodyHash string) (*OrderStarted, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	desc, err := w.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		w.Log.Error("describe order workflow", "workflowId", wfID, "error", err)
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "cannot look up the existing order right now; try again"}
	}
	var prevHash string
	if p, ok := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.MemoBodyHash]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &prevHash)
	}
	if prevHash != bodyHash {
		return nil, &oi.Error{Code: oi.ECONFLICT, Field: "Idempotency-Key",
			Message: "an order with this key already exists with a different body", Detail: map[string]any{"orderId": in.OrderID}}
	}
	out := &OrderStarted{OrderID: in.OrderID, Reference: in.OrderReferenceID, Status: oi.StatusAccepted, WorkflowID: wfID, Repeat: true}
	if o, err := w.Store.GetOrderRequest(ctx, in.OrderID); err == nil {
		out.Status, out.Reference = o.Status, o.OrderReferenceID
	}
	return out, nil
}

// EventTaken is the answer to a printer's event.
type EventTaken struct {
	OrderID string `json:"orderId"`
	EventID string `json:"eventId"`
	Status  string `json:"status"`
	// Result is queued (sent to the order's workflow) or duplicate (an event
	// already recorded for an order whose workflow has ended).
	Result string `json:"result" enum:"queued,duplicate"`
}

// TakeEvent hands a printer's event to its order's workflow. The order must
// be routed to printerID; an order past MaxOrderEvents refuses new events;
// an order whose workflow ended records the event as rejected (a repeat of
// a recorded event is a duplicate, not an error).
func (w *Workflows) TakeEvent(ctx context.Context, printerID, orderID string, ev workflows.PrinterEvent) (*EventTaken, error) {
	route, err := w.Store.GetEventRoute(ctx, orderID, ev.EventID)
	if err != nil {
		return nil, err
	}
	if route.PrinterID != printerID {
		return nil, oi.Errorf(oi.EFORBIDDEN, "order %s is not routed to this printer", route.ID)
	}
	// A printer in a loop must not fire the merchant's triggers without end;
	// the workflow refuses past the cap too (for events already in flight).
	n := route.Events
	if !route.Known && n >= workflows.MaxOrderEvents {
		return nil, &oi.Error{Code: oi.ECONFLICT, Field: "eventId", Message: fmt.Sprintf(
			"order %s already has %d events, the most one order takes; event %s refused", route.ID, n, ev.EventID),
			Detail: map[string]any{"maxEvents": workflows.MaxOrderEvents}}
	}
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err = w.Temporal.SignalWorkflow(sctx, route.WorkflowID, "", workflows.SignalPrinterEvent, ev)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return &EventTaken{OrderID: route.ID, EventID: ev.EventID, Status: ev.Status, Result: "queued"}, nil
	case errors.As(err, &notFound):
		return w.closedOrderEvent(ctx, route.ID, route.Status, ev)
	default:
		w.Log.Error("signal order workflow", "orderId", route.ID, "workflowId", route.WorkflowID, "error", err)
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the event cannot be taken right now; try again"}
	}
}

// closedOrderEvent records an event that arrives after the order's workflow
// ended: a repeat of a known event is answered as such, anything else is
// recorded as rejected.
func (w *Workflows) closedOrderEvent(ctx context.Context, orderID, status string, ev workflows.PrinterEvent) (*EventTaken, error) {
	rec := &oi.OrderEvent{OrderID: orderID, EventID: ev.EventID, Status: ev.Status, Source: "printer", OccurredAt: ev.Timestamp,
		Message: ev.Message, TrackingCode: ev.TrackingCode, TrackingURL: ev.TrackingURL, CarrierName: ev.CarrierName,
		RejectReason: "order is already " + status + "; " + ev.Status + " ignored"}
	stored, inserted, err := w.Store.InsertOrderEvent(ctx, rec)
	if err != nil {
		return nil, err
	}
	if !inserted {
		return &EventTaken{OrderID: orderID, EventID: ev.EventID, Status: stored.Status, Result: "duplicate"}, nil
	}
	return nil, &oi.Error{Code: oi.ECONFLICT, Field: "status", Message: rec.RejectReason, Detail: map[string]any{"orderStatus": status}}
}

// StartDelivery starts the workflow that runs a claimed attempt series of
// a postback. The claim is released when Temporal cannot take it, so the
// postback does not stay pending with nothing delivering it.
func (w *Workflows) StartDelivery(ctx context.Context, r *store.Resend) (string, error) {
	wfID := workflows.PostbackDeliveryWorkflowID(r.PostbackID, r.Series)
	opts := startOptions(wfID, nil, workflows.AttrCustomerID.ValueSet(r.CustomerID))
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := w.Temporal.ExecuteWorkflow(sctx, opts, workflows.PostbackDeliveryWorkflow,
		workflows.PostbackDeliveryInput{PostbackID: r.PostbackID, Series: r.Series})
	if err == nil {
		return wfID, nil
	}
	w.Log.Error("start postback delivery", "postbackId", r.PostbackID, "workflowId", wfID, "error", err)
	if rerr := w.Store.ReleaseResend(context.WithoutCancel(ctx), r); rerr != nil {
		w.Log.Error("release postback claim", "postbackId", r.PostbackID, "error", rerr)
	}
	return "", &oi.Error{Code: oi.EUNAVAILABLE, Message: "the delivery could not be queued right now; nothing was sent, try again"}
}

// timedOut reports whether a call to Temporal ended by its deadline, after
// which the call's effect is unknown.
func timedOut(err error) bool {
	var dl *serviceerror.DeadlineExceeded
	var cn *serviceerror.Canceled
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &dl) || errors.As(err, &cn)
}
