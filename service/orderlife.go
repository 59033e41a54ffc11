package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/store"
	"orderintake/workflows"
)

// OrderLife is the order's life after intake: cancel, resubmit, the
// customer's search and response templates. The JSON API's customer and
// admin routes and the HQ buttons all go through it, so a cancel is one
// code path whoever asks.
type OrderLife struct {
	Temporal client.Client
	Store    *store.Store
	Mapper   *mapper.Engine
	Log      *slog.Logger
	// CancelWait is how long a cancel waits for the printer's verdict before
	// answering cancel_pending (0: workflows.CancelWait).
	CancelWait time.Duration
	// Fallbacks counts response templates that failed, by kind (the answer
	// then is our standard one); register it with the metrics registry.
	Fallbacks *prometheus.CounterVec
}

// NewOrderLife builds the service with its fallback counter.
func NewOrderLife(c client.Client, st *store.Store, m *mapper.Engine, log *slog.Logger) *OrderLife {
	if log == nil {
		log = slog.Default()
	}
	return &OrderLife{Temporal: c, Store: st, Mapper: m, Log: log,
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orderintake_response_template_fallbacks_total",
			Help: "Answers sent in the standard form because the customer's response template failed, by template kind."},
			[]string{"kind"})}
}

// OrderLinks point at the order in the API, HQ and (in the intake answer,
// where a Temporal Web UI is configured) its workflow in the UI.
type OrderLinks struct {
	Self     string `json:"self"`
	HQ       string `json:"hq"`
	Workflow string `json:"workflow,omitempty"`
}

// LinksOf names an order's links.
func LinksOf(orderID string) OrderLinks {
	return OrderLinks{Self: "/v1/orders/" + orderID, HQ: "/hq/requests/" + orderID}
}

// CancelAnswer is the answer to a cancel that was not refused: the order is
// canceled (200), or the printer's verdict is not in yet (202, status
// cancel_pending; GET /v1/orders/{id} shows the outcome later).
type CancelAnswer struct {
	HTTPStatus       int        `json:"-"`
	ID               string     `json:"id"`
	OrderReferenceID string     `json:"orderReferenceId"`
	Status           string     `json:"status" enum:"canceled,cancel_pending"`
	CancelID         string     `json:"cancelId"`
	PrinterCalled    bool       `json:"printerCalled"`
	PrinterStatus    int        `json:"printerStatus,omitempty"`
	Links            OrderLinks `json:"links"`
}

// Cancel cancels an order as its customer would: customerID "" is an
// operator (admin route, HQ), who may cancel any order. The body (JSON or
// XML, may be empty) is the cancel template's input.
func (l *OrderLife) Cancel(ctx context.Context, customerID, orderID string, in workflows.CancelInput) (*CancelAnswer, error) {
	route, err := l.ownOrder(ctx, customerID, orderID)
	if err != nil {
		return nil, err
	}
	if oi.ShippedOrLater(route.Status) {
		return nil, tooLate(route.ID, route.Status)
	}
	o, err := l.Store.GetOrderRequest(ctx, route.ID)
	if err != nil {
		return nil, err
	}
	wait := l.CancelWait
	if wait <= 0 {
		wait = workflows.CancelWait
	}
	cancelID := oi.NewID("cnl")
	ans := &CancelAnswer{ID: o.ID, OrderReferenceID: o.OrderReferenceID, CancelID: cancelID, Links: LinksOf(o.ID)}
	wctx, stop := context.WithTimeout(ctx, wait)
	defer stop()
	h, err := l.Temporal.UpdateWorkflow(wctx, client.UpdateWorkflowOptions{WorkflowID: route.WorkflowID, UpdateID: cancelID,
		UpdateName: workflows.UpdateCancel, Args: []any{in}, WaitForStage: client.WorkflowUpdateStageAccepted})
	var res workflows.CancelResult
	if err == nil {
		err = h.Get(wctx, &res)
	}
	switch {
	case err == nil:
		ans.HTTPStatus, ans.Status, ans.PrinterCalled, ans.PrinterStatus = 200, res.Status, res.PrinterCalled, res.PrinterStatus
		l.Log.Info("order canceled", "orderId", o.ID, "cancelId", cancelID, "printerCalled", res.PrinterCalled)
		return ans, nil
	case timedOut(err) && ctx.Err() == nil:
		// The verdict is not in within the wait: the update carries on in
		// the workflow and its outcome shows on the order.
		ans.HTTPStatus, ans.Status = 202, oi.StatusCancelPending
		return ans, nil
	}
	return nil, l.cancelFailure(ctx, o, cancelID, err)
}

// cancelFailure maps a cancel that did not go through to our error.
func (l *OrderLife) cancelFailure(ctx context.Context, o *oi.OrderRequest, cancelID string, err error) error {
	var app *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &app) && app.Type() == workflows.ErrCancelRefused:
		var status string
		_ = app.Details(&status)
		return tooLate(o.ID, status)
	case errors.As(err, &app) && app.Type() == workflows.ErrPrinterRejected:
		detail := map[string]any{"orderId": o.ID, "orderStatus": o.Status, "cancelId": cancelID}
		if cr, gerr := l.Store.GetCancel(ctx, cancelID); gerr == nil && cr.Response != nil {
			detail["printerStatus"] = cr.Response.Status
			detail["printerAnswer"] = clip(cr.Response.Body, 4096)
		}
		return &oi.Error{Code: oi.ECONFLICT, Message: "the printer refused the cancel; the order is unchanged", Detail: detail}
	case errors.As(err, &app) && app.Type() == workflows.ErrTemplate:
		return &oi.Error{Code: oi.ETEMPLATE, Message: app.Message(), Detail: map[string]any{"orderId": o.ID, "cancelId": cancelID}}
	case errors.As(err, &app) && app.Type() == workflows.ErrOrderConfig:
		return &oi.Error{Code: oi.ECONFLICT, Message: "the order cannot be canceled at its printer: " + app.Message(),
			Detail: map[string]any{"orderId": o.ID, "cancelId": cancelID}}
	case errors.As(err, &notFound):
		cur, gerr := l.Store.GetOrderRoute(ctx, o.ID)
		status := o.Status
		if gerr == nil {
			status = cur.Status
		}
		return &oi.Error{Code: oi.ECONFLICT, Message: fmt.Sprintf("order is %s and its workflow has ended; it can no longer be canceled", status),
			Detail: map[string]any{"orderId": o.ID, "orderStatus": status}}
	case errors.As(err, &app):
		// A rejection we did not raise: an order taken before cancels existed.
		l.Log.Warn("cancel refused by the workflow", "orderId", o.ID, "error", err)
		return &oi.Error{Code: oi.ECONFLICT, Message: "this order cannot be canceled here: " + app.Message(),
			Detail: map[string]any{"orderId": o.ID, "orderStatus": o.Status}}
	}
	l.Log.Error("cancel order", "orderId", o.ID, "cancelId", cancelID, "error", err)
	return &oi.Error{Code: oi.EUNAVAILABLE, Message: "the cancel cannot be taken right now; try again",
		Detail: map[string]any{"orderId": o.ID}}
}

func tooLate(orderID, status string) error {
	return &oi.Error{Code: oi.ECONFLICT, Field: "status", Message: fmt.Sprintf("order is %s; it can no longer be canceled", status),
		Detail: map[string]any{"orderId": orderID, "orderStatus": status}}
}

// ownOrder finds an order of customerID ("" for an operator: any order);
// another customer's order does not exist for this key.
func (l *OrderLife) ownOrder(ctx context.Context, customerID, orderID string) (*store.OrderRoute, error) {
	route, err := l.Store.GetOrderRoute(ctx, orderID)
	if err == nil && customerID != "" && route.CustomerID != customerID {
		err = oi.Errorf(oi.ENOTFOUND, "order not found")
	}
	if err != nil {
		return nil, err
	}
	if route.WorkflowID == "" || route.Status == oi.StatusRejected {
		return nil, &oi.Error{Code: oi.ECONFLICT, Message: "this request was refused at intake; it never became an order",
			Detail: map[string]any{"orderId": route.ID, "orderStatus": route.Status}}
	}
	return route, nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "…"
	}
	return string(b)
}

// ResubmitAnswer says which try of a failed order is now under way.
type ResubmitAnswer struct {
	ID     string     `json:"id"`
	Status string     `json:"status" enum:"accepted"`
	Try    int        `json:"try"`
	Links  OrderLinks `json:"links"`
}

// Resubmit sends a failed order again (an operator's action): it is
// re-rendered with the current template version and resent; the order id,
// workflow and idempotency stay.
func (l *OrderLife) Resubmit(ctx context.Context, orderID string) (*ResubmitAnswer, error) {
	route, err := l.ownOrder(ctx, "", orderID)
	if err != nil {
		return nil, err
	}
	if route.Status != oi.EventFailed {
		return nil, notResubmittable(route.ID, route.Status)
	}
	uctx, stop := context.WithTimeout(ctx, callTimeout)
	defer stop()
	h, err := l.Temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{WorkflowID: route.WorkflowID,
		UpdateID: oi.NewID("rsb"), UpdateName: workflows.UpdateResubmit, WaitForStage: client.WorkflowUpdateStageCompleted})
	var res workflows.ResubmitResult
	if err == nil {
		err = h.Get(uctx, &res)
	}
	if err == nil {
		l.Log.Info("order resubmitted", "orderId", route.ID, "try", res.Try)
		return &ResubmitAnswer{ID: route.ID, Status: oi.StatusAccepted, Try: res.Try, Links: LinksOf(route.ID)}, nil
	}
	var app *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &app) && app.Type() == workflows.ErrResubmitRefused:
		var status string
		_ = app.Details(&status)
		return nil, notResubmittable(route.ID, status)
	case errors.As(err, &notFound):
		return nil, &oi.Error{Code: oi.ECONFLICT, Message: "the failed order's workflow has ended (it waits ORDERINTAKE_FAILED_ORDER_HOLD " +
			"for a resubmit); submit the order again as a new order", Detail: map[string]any{"orderId": route.ID, "orderStatus": route.Status}}
	case errors.As(err, &app):
		return nil, &oi.Error{Code: oi.ECONFLICT, Message: "this order cannot be resubmitted: " + app.Message(),
			Detail: map[string]any{"orderId": route.ID, "orderStatus": route.Status}}
	}
	l.Log.Error("resubmit order", "orderId", route.ID, "error", err)
	return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the resubmit cannot be taken right now; try again",
		Detail: map[string]any{"orderId": route.ID}}
}

func notResubmittable(orderID, status string) error {
	return &oi.Error{Code: oi.ECONFLICT, Field: "status", Message: fmt.Sprintf("order is %s; only a failed order can be resubmitted", status),
		Detail: map[string]any{"orderId": orderID, "orderStatus": status}}
}

// BulkResubmit is the window of a bulk resubmit.
type BulkResubmit struct {
	CustomerID string    `json:"customerId"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
}

// BulkResubmitAnswer lists what a bulk resubmit did, order by order.
type BulkResubmitAnswer struct {
	CustomerID  string           `json:"customerId"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Resubmitted []string         `json:"resubmitted"`
	Skipped     []SkippedOrder   `json:"skipped"`
	Truncated   bool             `json:"truncated"`
	Limit       int              `json:"limit"`
	Items       []ResubmitAnswer `json:"-"`
}

// SkippedOrder is a failed order a bulk resubmit could not send again.
type SkippedOrder struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// MaxBulkResubmit bounds one bulk resubmit; a larger window is done in parts.
const MaxBulkResubmit = 1000

// ResubmitWindow resubmits every failed order of a customer received in
// [from, to). Each order gets the resubmit signal (durable even while no
// worker runs); an order whose workflow has ended is skipped, with why.
func (l *OrderLife) ResubmitWindow(ctx context.Context, b BulkResubmit) (*BulkResubmitAnswer, error) {
	switch {
	case b.CustomerID == "":
		return nil, oi.FieldError("customerId", "customerId is required")
	case b.From.IsZero() || b.To.IsZero():
		return nil, oi.FieldError("from", "from and to are required (RFC 3339)")
	case !b.From.Before(b.To):
		return nil, oi.FieldError("to", "to must be after from")
	}
	if _, err := l.Store.GetCustomer(ctx, b.CustomerID); err != nil {
		return nil, err
	}
	ans := &BulkResubmitAnswer{CustomerID: b.CustomerID, From: b.From, To: b.To, Resubmitted: []string{}, Skipped: []SkippedOrder{},
		Limit: MaxBulkResubmit}
	f := store.ListFilter{CustomerID: b.CustomerID, Status: oi.EventFailed, From: b.From, To: b.To, Limit: 200}
	for n := 0; ; {
		page, next, err := l.Store.ListOrderRequests(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if n == MaxBulkResubmit {
				ans.Truncated = true
				return ans, nil
			}
			n++
			sctx, stop := context.WithTimeout(ctx, callTimeout)
			err := l.Temporal.SignalWorkflow(sctx, o.WorkflowID, "", workflows.SignalResubmit, nil)
			stop()
			var notFound *serviceerror.NotFound
			switch {
			case err == nil:
				ans.Resubmitted = append(ans.Resubmitted, o.ID)
			case errors.As(err, &notFound):
				ans.Skipped = append(ans.Skipped, SkippedOrder{ID: o.ID, Reason: "its workflow has ended (past ORDERINTAKE_FAILED_ORDER_HOLD)"})
			default:
				l.Log.Error("resubmit signal", "orderId", o.ID, "error", err)
				ans.Skipped = append(ans.Skipped, SkippedOrder{ID: o.ID, Reason: "Temporal did not take the resubmit; try again"})
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	l.Log.Info("bulk resubmit", "customerId", b.CustomerID, "resubmitted", len(ans.Resubmitted), "skipped", len(ans.Skipped))
	return ans, nil
}

// OrderSummary is one order in a customer's search.
type OrderSummary struct {
	ID               string     `json:"id"`
	OrderReferenceID string     `json:"orderReferenceId"`
	Status           string     `json:"status"`
	PrinterOrderID   string     `json:"printerOrderId"`
	ReceivedAt       time.Time  `json:"receivedAt"`
	UpdatedAt        time.Time  `json:"updatedAt"`
	Links            OrderLinks `json:"links"`
}

// OrderSearch is a customer's search: reference (prefix), status, the
// [from, to) window of receipt, a page size and the cursor of the page.
type OrderSearch struct {
	Reference, Status string
	From, To          time.Time
	Limit             int
	Cursor            string
}

// OrderPage is one page of a customer's orders, newest first.
type OrderPage struct {
	Items      []OrderSummary `json:"items"`
	NextCursor string         `json:"nextCursor"`
}

// SearchOrders lists a customer's own orders (never another's, never the
// requests refused at intake), newest first, a keyset page at a time.
func (l *OrderLife) SearchOrders(ctx context.Context, customerID string, q OrderSearch) (*OrderPage, error) {
	if customerID == "" {
		return nil, oi.Errorf(oi.EFORBIDDEN, "a customer key is required")
	}
	if q.Status != "" && q.Status != oi.StatusAccepted && q.Status != oi.StatusSubmitted && !oi.IsEvent(q.Status) {
		return nil, oi.FieldError("status", "status %q is not one of accepted, submitted, %s", q.Status, strings.Join(oi.PrinterEvents, ", "))
	}
	if q.Limit < 0 || q.Limit > 500 {
		return nil, oi.FieldError("limit", "limit must be between 1 and 500")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, oi.FieldError("to", "to must be after from")
	}
	rows, next, err := l.Store.ListOrderRequests(ctx, store.ListFilter{CustomerID: customerID, OrdersOnly: true,
		Reference: q.Reference, Status: q.Status, From: q.From, To: q.To, Limit: q.Limit, Cursor: q.Cursor})
	if err != nil {
		return nil, err
	}
	out := &OrderPage{Items: make([]OrderSummary, 0, len(rows)), NextCursor: next}
	for _, o := range rows {
		out.Items = append(out.Items, OrderSummary{ID: o.ID, OrderReferenceID: o.OrderReferenceID, Status: o.Status,
			PrinterOrderID: o.PrinterOrderID, ReceivedAt: o.ReceivedAt, UpdatedAt: o.UpdatedAt, Links: LinksOf(o.ID)})
	}
	return out, nil
}
