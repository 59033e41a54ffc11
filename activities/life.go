package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// OrderSettings reads what the order's workflow needs once: the customer's
// delayedAfter and the worker's failed-order hold.
func (a *Activities) OrderSettings(ctx context.Context, orderID string) (workflows.OrderSettings, error) {
	out := workflows.OrderSettings{FailedHold: a.FailedOrderHold}
	if out.FailedHold <= 0 {
		out.FailedHold = workflows.DefaultFailedOrderHold
	}
	d, err := a.Store.GetOrderDelayedAfter(ctx, orderID)
	if err != nil {
		return out, fmt.Errorf("load the customer settings of %s: %w", orderID, err)
	}
	out.DelayedAfter = d
	return out, nil
}

// ArchiveTry starts the next submit try of a resubmitted order: the stages
// of the try before it are kept in order_tries.
func (a *Activities) ArchiveTry(ctx context.Context, in workflows.ArchiveTryInput) error {
	if err := a.Store.ArchiveTry(ctx, in.OrderID, in.Try); err != nil {
		return fmt.Errorf("archive try %d of %s: %w", in.Try-1, in.OrderID, err)
	}
	return nil
}

// StartCancel records a cancel request as it came in.
func (a *Activities) StartCancel(ctx context.Context, in workflows.StartCancelInput) error {
	source := in.Cancel.Source
	if source == "" {
		source = "customer"
	}
	err := a.Store.StartCancel(ctx, &oi.CancelRequest{ID: in.CancelID, OrderID: in.OrderID, Source: source,
		RequestedAt: in.RequestedAt, Original: oi.OriginalRequest{ContentType: in.Cancel.ContentType,
			Headers: in.Cancel.Headers, Body: in.Cancel.Body}})
	if err != nil {
		return fmt.Errorf("record cancel %s of %s: %w", in.CancelID, in.OrderID, err)
	}
	return nil
}

// EndCancel records a cancel's outcome.
func (a *Activities) EndCancel(ctx context.Context, in workflows.EndCancelInput) error {
	if err := a.Store.SetCancelOutcome(ctx, in.CancelID, in.Outcome, in.Reason); err != nil {
		return fmt.Errorf("record outcome of cancel %s: %w", in.CancelID, err)
	}
	return nil
}

// CancelContext is the cancel template's (and cancel URL's) context: the
// intake context over the cancel body (empty when none came), plus the
// order's ids under their plain names where the body has no such key, and
// always under orderintake.
func CancelContext(body any, headers map[string][]string, c *oi.Customer, o *oi.OrderRequest, now time.Time) map[string]any {
	if body == nil {
		body = map[string]any{}
	}
	data := mapper.IntakeContext(body, headers, mapper.CustomerInfo{ID: c.ID, Name: c.Name, ReferenceID: c.ReferenceID}, now)
	ids := map[string]any{"printerOrderId": o.PrinterOrderID, "orderId": o.ID, "orderReferenceId": o.OrderReferenceID}
	ours, _ := data["orderintake"].(map[string]any)
	for k, v := range ids {
		if _, taken := data[k]; !taken {
			data[k] = v
		}
		if ours != nil {
			ours[k] = v
		}
	}
	return data
}

// CancelAtPrinter renders the customer's cancel template over the cancel's
// body, renders the printer's cancel URL, and sends the cancel through the
// guarded printer client; each stage is recorded on the cancel request.
// 2xx: done. 4xx (but 408, 425, 429): the printer refused, not retried.
// Anything else is retried by Temporal.
func (a *Activities) CancelAtPrinter(ctx context.Context, in workflows.CancelAtPrinterInput) (workflows.CancelAtPrinterResult, error) {
	var res workflows.CancelAtPrinterResult
	cr, err := a.Store.GetCancel(ctx, in.CancelID)
	if err != nil {
		return res, fmt.Errorf("load cancel %s: %w", in.CancelID, err)
	}
	o, err := a.Store.GetOrderRequest(ctx, in.OrderID)
	if err != nil {
		return res, fmt.Errorf("load order %s: %w", in.OrderID, err)
	}
	c, err := a.Store.GetCustomer(ctx, o.CustomerID)
	if err != nil {
		return res, configError(err, "customer")
	}
	printerID := o.PrinterID
	if printerID == "" {
		printerID = c.PrinterID
	}
	if printerID == "" {
		return res, nonRetryable(workflows.ErrOrderConfig, "customer has no printer", nil)
	}
	p, err := a.Store.GetPrinter(ctx, printerID)
	if err != nil {
		return res, configError(err, "printer")
	}
	if strings.TrimSpace(p.CancelURL) == "" {
		return res, nonRetryable(workflows.ErrOrderConfig, "printer "+p.Name+" has no cancelUrl: it takes no cancels from us", nil)
	}

	var body any
	if len(bytes.TrimSpace(cr.Original.Body)) > 0 {
		if body, _, err = mapper.ParseInputOrdered(cr.Original.ContentType, cr.Original.Body); err != nil { // mappings iterate in the body's order
			return res, a.cancelTemplateFailed(ctx, cr, "", 0, err)
		}
	}
	data := CancelContext(body, cr.Original.Headers, c, o, cr.RequestedAt)
	lookups, err := render.Lookups(ctx, a.Store, c.ID)
	if err != nil {
		return res, fmt.Errorf("load lookups of %s: %w", c.ID, err)
	}
	var payload []byte
	if c.CancelTemplateID != "" {
		t, err := a.Store.GetTemplate(ctx, c.CancelTemplateID)
		if err != nil {
			return res, configError(err, "cancel template")
		}
		out, err := a.Mapper.Render(ctx, render.Template(t, ""), data, lookups)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return res, fmt.Errorf("render cancel template of %s: %w", in.OrderID, err)
			}
			return res, a.cancelTemplateFailed(ctx, cr, t.ID, t.Version, err)
		}
		payload = out
		if err := a.Store.SetCancelTemplate(ctx, cr.ID, t.ID, t.Version, out, nil); err != nil {
			return res, fmt.Errorf("store cancel template output of %s: %w", cr.ID, err)
		}
	}

	if o.PrinterOrderID == "" && strings.Contains(p.CancelURL, "printerOrderId") {
		return res, nonRetryable(workflows.ErrOrderConfig, "the printer's cancelUrl needs printerOrderId, and the printer's answer to "+
			"this order gave none (set the printer's orderIdExpression)", nil)
	}
	rawURL, err := a.Mapper.Render(ctx, mapper.Template{Format: mapper.FormatText, Body: p.CancelURL}, CancelContext(body,
		cr.Original.Headers, c, o, cr.RequestedAt), nil)
	if err != nil {
		return res, nonRetryable(workflows.ErrOrderConfig, "the printer's cancelUrl does not render: "+err.Error(), nil)
	}
	cancelURL := strings.TrimSpace(string(rawURL))
	if u, perr := url.Parse(cancelURL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return res, nonRetryable(workflows.ErrOrderConfig, fmt.Sprintf("the printer's cancelUrl renders %q, not an absolute http(s) URL", cancelURL), nil)
	}

	contentType := "application/json"
	if p.Format == oi.FormatXML {
		contentType = "application/xml"
	}
	// The cancel's id is its idempotency key: a retried cancel (a worker
	// restart mid-call) is the same cancel to a printer that honours it.
	headers := map[string]string{"Content-Type": contentType, "Idempotency-Key": cr.ID, "X-Order-Id": o.ID,
		"User-Agent": "orderintake/1"}
	ph, err := store.OpenPrinterHeaders(a.Sealer, p)
	if err != nil {
		return res, nonRetryable(workflows.ErrOrderConfig, "cannot open the printer's headers (was ORDERINTAKE_SECRET_KEY changed?)", nil)
	}
	for k, v := range ph {
		headers[k] = v
	}
	final := &oi.FinalRequest{Method: http.MethodPost, URL: cancelURL, Headers: oi.RedactHeaderMap(headers), Body: payload}
	if err := a.Store.SetCancelFinal(ctx, cr.ID, final); err != nil {
		return res, fmt.Errorf("store cancel request of %s: %w", cr.ID, err)
	}

	attempt := int(activity.GetInfo(ctx).Attempt)
	sent := time.Now().UTC()
	resp, err := a.Printers.Send(ctx, delivery.PrinterRequest{URL: cancelURL, Headers: headers, Body: payload,
		Timeout: time.Duration(p.TimeoutMs) * time.Millisecond})
	sr := &oi.SystemResponse{Attempts: attempt, SentAt: &sent}
	if err != nil {
		sr.LatencyMs = int(time.Since(sent).Milliseconds())
		sr.Error = fmt.Sprintf("send cancel to printer %s: %v", p.Name, err)
		if serr := a.Store.SetCancelResponse(ctx, cr.ID, attempt, sr); serr != nil {
			return res, fmt.Errorf("store printer answer to cancel %s: %w", cr.ID, serr)
		}
		if delivery.IsBlocked(err) || errors.Is(err, delivery.ErrBadPrinterURL) {
			return res, nonRetryable(workflows.ErrOrderConfig, sr.Error, nil)
		}
		return res, fmt.Errorf("send cancel to printer %s: %w", p.Name, err)
	}
	sr.LatencyMs = int(resp.Latency.Milliseconds())
	sr.Status, sr.Headers, sr.Body = resp.Status, oi.RedactHeaders(resp.Headers), resp.Body
	if resp.Status >= 300 {
		sr.Error = fmt.Sprintf("printer answered %d", resp.Status)
	}
	if err := a.Store.SetCancelResponse(ctx, cr.ID, attempt, sr); err != nil {
		return res, fmt.Errorf("store printer answer to cancel %s: %w", cr.ID, err)
	}
	res = workflows.CancelAtPrinterResult{Status: resp.Status, Attempts: attempt, LatencyMs: sr.LatencyMs}
	switch s := resp.Status; {
	case s >= 200 && s < 300:
		return res, nil
	case s >= 400 && s < 500 && s != 408 && s != 425 && s != 429:
		return res, nonRetryable(workflows.ErrPrinterRejected, fmt.Sprintf("printer %s refused the cancel with %d: %s", p.Name, s,
			excerpt(resp.Body)), nil)
	default:
		return res, fmt.Errorf("send cancel to printer %s: answered %d", p.Name, s)
	}
}

// cancelTemplateFailed records a cancel template's error (or an unreadable
// cancel body) and makes it final: the template must change first.
func (a *Activities) cancelTemplateFailed(ctx context.Context, cr *oi.CancelRequest, templateID string, version int, err error) error {
	if serr := a.Store.SetCancelTemplate(ctx, cr.ID, templateID, version, nil, render.ErrorJSON(err)); serr != nil {
		return fmt.Errorf("store cancel template error of %s: %w", cr.ID, serr)
	}
	return nonRetryable(workflows.ErrTemplate, "cancel template failed: "+err.Error(), nil)
}

// printerOrderID applies the printer's orderIdExpression to its 2xx answer.
// It answers the id, or a warning saying why there is none.
func (a *Activities) printerOrderID(ctx context.Context, p *oi.Printer, resp *delivery.PrinterResponse) (string, json.RawMessage) {
	if strings.TrimSpace(p.OrderIDExpression) == "" {
		return "", nil
	}
	warn := func(msg string) json.RawMessage {
		b, _ := json.Marshal([]map[string]any{{"message": msg}})
		return b
	}
	body, _, err := mapper.ParseInput(resp.Headers.Get("Content-Type"), resp.Body)
	if err != nil {
		return "", warn(fmt.Sprintf("no printer order id: the printer's answer is not JSON or XML the orderIdExpression %q can read: %v",
			p.OrderIDExpression, err))
	}
	data := map[string]any{"body": body}
	if m, ok := body.(map[string]any); ok {
		for k, v := range m {
			data[k] = v
		}
	}
	v, err := a.Mapper.EvalExpression(ctx, p.OrderIDExpression, data)
	if err != nil {
		return "", warn(fmt.Sprintf("no printer order id: the orderIdExpression %q failed on the printer's answer: %v", p.OrderIDExpression, err))
	}
	if v.Missing != "" {
		return "", warn(fmt.Sprintf("no printer order id: the orderIdExpression %q found nothing in the printer's answer (%s)",
			p.OrderIDExpression, v.Missing))
	}
	return v.Text, nil
}
