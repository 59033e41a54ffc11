package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/mapper"
	"orderintake/render"
	"orderintake/store"
	"orderintake/workflows"
)

// RecordRequest stores the original request (idempotent).
func (a *Activities) RecordRequest(ctx context.Context, in workflows.OrderInput) error {
	// The order is routed to its customer's printer of the moment (read in the insert).
	err := a.Store.InsertOrderRequest(ctx, store.NewOrder{
		ID: in.OrderID, CustomerID: in.CustomerID, CustomersPrinter: true, WorkflowID: activity.GetInfo(ctx).WorkflowExecution.ID,
		IdempotencyKey: in.Key, OrderReferenceID: in.OrderReferenceID, ReceivedAt: in.ReceivedAt,
		ContentType: in.ContentType, Headers: in.Headers, Body: in.Body,
	})
	if err != nil {
		return fmt.Errorf("record request %s: %w", in.OrderID, err)
	}
	return nil
}

// ProcessTemplate renders the customer's intake template over the original
// request and stores the output ("template processing").
func (a *Activities) ProcessTemplate(ctx context.Context, orderID string) (workflows.TemplateResult, error) {
	var res workflows.TemplateResult
	// The order, its customer, the intake template and the lookup tables in one read.
	src, err := a.Store.GetTemplateSources(ctx, orderID)
	if err != nil {
		return res, fmt.Errorf("load order %s: %w", orderID, err)
	}
	o, c, t := src.Order, src.Customer, src.Template
	if c == nil {
		return res, configError(oi.Errorf(oi.ENOTFOUND, "customer not found"), "customer")
	}
	if c.IntakeTemplateID == "" {
		return res, nonRetryable(workflows.ErrOrderConfig, "customer "+c.ReferenceID+" has no intake template", nil)
	}
	if t == nil {
		return res, configError(oi.Errorf(oi.ENOTFOUND, "template not found"), "intake template")
	}
	res = workflows.TemplateResult{TemplateID: t.ID, TemplateVersion: t.Version}
	lookups := render.LookupTables(src.Lookups)
	body, _, err := mapper.ParseInputOrdered(o.Original.ContentType, o.Original.Body) // mappings iterate in the body's order
	var warnings json.RawMessage
	if err == nil {
		data := mapper.IntakeContext(body, o.Original.Headers, mapper.CustomerInfo{ID: c.ID, Name: c.Name, ReferenceID: c.ReferenceID}, o.ReceivedAt)
		var r mapper.Result
		r, err = a.Mapper.RenderDetailed(ctx, render.Template(t, ""), data, lookups)
		warnings = warningsJSON(r.Warnings)
		if err == nil {
			if err := a.Store.SetTemplateStage(ctx, orderID, t.ID, t.Version, r.Output, nil, warnings); err != nil {
				return res, fmt.Errorf("store template output of %s: %w", orderID, err)
			}
			return res, nil
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			// Cut short by a timeout or shutdown, not the template's fault: retry.
			return res, fmt.Errorf("render intake template of %s: %w", orderID, err)
		}
	}
	if serr := a.Store.SetTemplateStage(ctx, orderID, t.ID, t.Version, nil, render.ErrorJSON(err), warnings); serr != nil {
		return res, fmt.Errorf("store template error of %s: %w", orderID, serr)
	}
	return res, nonRetryable(workflows.ErrTemplate, err.Error(), nil)
}

// warningsJSON is how a render's warnings are stored (nil when none).
func warningsJSON(ws []mapper.Warning) json.RawMessage {
	if len(ws) == 0 {
		return nil
	}
	b, _ := json.Marshal(ws)
	return b
}

// SendToPrinter sends the final request to the customer's printer and keeps
// the answer. 2xx: done. 4xx (but 408, 425, 429): the printer refused the
// order, no retry. Anything else is retried by Temporal.
func (a *Activities) SendToPrinter(ctx context.Context, orderID string) (workflows.PrinterResult, error) {
	return a.sendToPrinter(ctx, orderID, int(activity.GetInfo(ctx).Attempt), 0)
}

// SendToPrinterFirst is the first try of SendToPrinter as a local activity in
// the order's workflow task: the printer call ends by in.SendTimeout, below
// the local activity's cap, and its answer is recorded as attempt 1. The
// workflow hands a try that did not go through to SendToPrinterAgain. The
// printer sees the same Idempotency-Key (the order id) on every try.
func (a *Activities) SendToPrinterFirst(ctx context.Context, in workflows.PrinterSendInput) (workflows.PrinterResult, error) {
	return a.sendToPrinter(ctx, in.OrderID, 1, in.SendTimeout)
}

// SendToPrinterAgain is SendToPrinter after a first try: its attempts are
// recorded after in.PriorAttempts.
func (a *Activities) SendToPrinterAgain(ctx context.Context, in workflows.PrinterSendInput) (workflows.PrinterResult, error) {
	return a.sendToPrinter(ctx, in.OrderID, in.PriorAttempts+int(activity.GetInfo(ctx).Attempt), in.SendTimeout)
}

// sendToPrinter makes attempt number attempt; sendTimeout (when set) cuts
// the printer's own timeout shorter.
func (a *Activities) sendToPrinter(ctx context.Context, orderID string, attempt int, sendTimeout time.Duration) (workflows.PrinterResult, error) {
	var res workflows.PrinterResult
	// The order's rendered request and its printer (the order's, else its
	// customer's) in one read.
	src, err := a.Store.GetPrinterSources(ctx, orderID)
	if err != nil {
		return res, fmt.Errorf("load order %s: %w", orderID, err)
	}
	o, p := src.Order, src.Printer
	if o.PrinterID == "" && !src.CustomerFound {
		return res, configError(oi.Errorf(oi.ENOTFOUND, "customer not found"), "customer")
	}
	if src.PrinterID == "" {
		return res, nonRetryable(workflows.ErrOrderConfig, "customer has no printer", nil)
	}
	if p == nil {
		return res, configError(oi.Errorf(oi.ENOTFOUND, "printer not found"), "printer")
	}
	contentType := "application/json"
	if p.Format == oi.FormatXML {
		contentType = "application/xml"
	}
	headers := map[string]string{"Content-Type": contentType, "Idempotency-Key": orderID, "X-Order-Id": orderID,
		"User-Agent": "orderintake/1"}
	ph, err := store.OpenPrinterHeaders(a.Sealer, p)
	if err != nil {
		return res, nonRetryable(workflows.ErrOrderConfig, "cannot open the printer's headers (was ORDERINTAKE_SECRET_KEY changed?)", nil)
	}
	for k, v := range ph {
		headers[k] = v
	}
	final := &oi.FinalRequest{Method: http.MethodPost, URL: p.URL, Headers: oi.RedactHeaderMap(headers), Body: o.Processing.Output}
	if err := a.Store.SetFinalRequest(ctx, orderID, final); err != nil {
		return res, fmt.Errorf("store final request of %s: %w", orderID, err)
	}

	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = delivery.DefaultPrinterTimeout
	}
	if sendTimeout > 0 {
		timeout = min(timeout, sendTimeout)
	}
	sent := time.Now().UTC()
	resp, err := a.Printers.Send(ctx, delivery.PrinterRequest{URL: p.URL, Headers: headers, Body: o.Processing.Output,
		Timeout: timeout})
	sr := &oi.SystemResponse{Attempts: attempt, SentAt: &sent}
	if err != nil {
		sr.LatencyMs = int(time.Since(sent).Milliseconds())
		sr.Error = fmt.Sprintf("send to printer %s: %v", p.Name, err)
		if serr := a.Store.SetSystemResponse(ctx, orderID, attempt, sr); serr != nil {
			return res, fmt.Errorf("store printer response of %s: %w", orderID, serr)
		}
		a.alert(ctx, printerOutcome(p, o, false, sr.Error))
		if delivery.IsBlocked(err) || errors.Is(err, delivery.ErrBadPrinterURL) {
			// The printer's settings must change first: retrying cannot help.
			return res, nonRetryable(workflows.ErrOrderConfig, sr.Error, nil)
		}
		return res, fmt.Errorf("send to printer %s: %w", p.Name, err)
	}
	body := resp.Body
	sr.LatencyMs = int(resp.Latency.Milliseconds())
	sr.Status, sr.Headers, sr.Body = resp.Status, oi.RedactHeaders(resp.Headers), body
	if resp.Status >= 300 {
		sr.Error = fmt.Sprintf("printer answered %d", resp.Status)
	}
	printerOrderID := ""
	if resp.Status >= 200 && resp.Status < 300 {
		// A 2xx answer without the id the printer's expression looks for is
		// a warning on this stage, never a silent blank.
		printerOrderID, sr.Warnings = a.printerOrderID(ctx, p, resp)
	}
	if err := a.Store.SetSystemResponse(ctx, orderID, attempt, sr); err != nil {
		return res, fmt.Errorf("store printer response of %s: %w", orderID, err)
	}
	if printerOrderID != "" {
		if err := a.Store.SetPrinterOrderID(ctx, orderID, printerOrderID); err != nil {
			return res, fmt.Errorf("store printer order id of %s: %w", orderID, err)
		}
	}
	a.alert(ctx, printerOutcome(p, o, resp.Status >= 200 && resp.Status < 300, sr.Error))
	res = workflows.PrinterResult{Status: resp.Status, Attempts: attempt, LatencyMs: sr.LatencyMs, PrinterOrderID: printerOrderID}
	switch s := resp.Status; {
	case s >= 200 && s < 300:
		return res, nil
	case s >= 400 && s < 500 && s != 408 && s != 425 && s != 429:
		return res, nonRetryable(workflows.ErrPrinterRejected, fmt.Sprintf("printer %s answered %d: %s", p.Name, s, excerpt(body)), nil)
	default:
		return res, fmt.Errorf("send to printer %s: answered %d", p.Name, s)
	}
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// SetOrderStatus records an order's status.
func (a *Activities) SetOrderStatus(ctx context.Context, in workflows.StatusInput) error {
	if err := a.Store.SetOrderStatus(ctx, in.OrderID, in.Status, in.Reason); err != nil {
		return fmt.Errorf("set status of %s: %w", in.OrderID, err)
	}
	return nil
}

// RecordEvent stores an event (a repeat is stored once) and, when accepted
// from the printer, moves the order's status.
func (a *Activities) RecordEvent(ctx context.Context, in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
	out, inserted, err := a.Store.InsertOrderEvent(ctx, orderEvent(in))
	if err != nil {
		return workflows.RecordEventResult{}, fmt.Errorf("record event %s of %s: %w", in.Event.EventID, in.OrderID, err)
	}
	if in.Accepted && in.Source == "printer" {
		if err := a.Store.SetOrderStatus(ctx, in.OrderID, in.Event.Status, ""); err != nil {
			return workflows.RecordEventResult{}, fmt.Errorf("set status of %s: %w", in.OrderID, err)
		}
	}
	return workflows.RecordEventResult{OrderEventID: out.ID, Inserted: inserted}, nil
}

// orderEvent is the record of an event.
func orderEvent(in workflows.RecordEventInput) *oi.OrderEvent {
	ev := &oi.OrderEvent{OrderID: in.OrderID, EventID: in.Event.EventID, Status: in.Event.Status, Source: in.Source,
		OccurredAt: in.Event.Timestamp, Message: in.Event.Message, TrackingCode: in.Event.TrackingCode,
		TrackingURL: in.Event.TrackingURL, CarrierName: in.Event.CarrierName, Accepted: in.Accepted, RejectReason: in.RejectReason}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = time.Now().UTC()
	}
	return ev
}
