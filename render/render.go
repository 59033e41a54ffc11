// Package render turns stored templates into output: the template context
// of a postback, a customer's lookup tables, a trigger rendered into a
// postback (for a real event, or the documented sample of one: "send
// test"). The activities and the services both render through it, so a
// preview is what delivery would send.
package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/store"
	"orderintake/workflows"
)

// PostbackContext is the template context of a postback: our order and event
// model (see mapper.SamplePostbackContext for one per event).
func PostbackContext(o *oi.OrderRequest, ev workflows.PrinterEvent) map[string]any {
	fulfillment := map[string]any{"trackingCode": ev.TrackingCode, "trackingUrl": ev.TrackingURL, "carrierName": ev.CarrierName}
	fulfillments := []any{}
	if ev.TrackingCode != "" || ev.TrackingURL != "" || ev.CarrierName != "" {
		fulfillments = append(fulfillments, fulfillment)
	}
	var order any = map[string]any{}
	items := []any{}
	if body, _, err := mapper.ParseInputOrdered(o.Original.ContentType, o.Original.Body); err == nil {
		order = body
		items = orderItems(body, fulfillments)
	}
	if len(items) == 0 {
		items = []any{map[string]any{"fulfillments": fulfillments}}
	}
	return map[string]any{
		"event":             ev.Status,
		"eventId":           ev.EventID,
		"orderId":           o.ID,
		"orderReferenceId":  o.OrderReferenceID,
		"printerOrderId":    o.PrinterOrderID,
		"customerId":        o.CustomerID,
		"created":           ev.Timestamp.UTC().Format(time.RFC3339),
		"fulfillmentStatus": ev.Status,
		"message":           ev.Message,
		"trackingCode":      ev.TrackingCode,
		"trackingUrl":       ev.TrackingURL,
		"carrierName":       ev.CarrierName,
		"items":             items,
		"order":             order,
	}
}

// orderItems finds the merchant's item list (top-level "items", or "items"
// under the single root of an XML body, where one item is not a list) and
// adds the event's fulfillments to each item.
func orderItems(body any, fulfillments []any) []any {
	m, ok := mapper.AsMap(body) // the body is parsed with its key order (*mapper.Object)
	if !ok {
		return nil
	}
	list, found := m["items"]
	if !found && len(m) == 1 {
		for _, root := range m {
			if rm, ok := mapper.AsMap(root); ok {
				list, found = rm["items"]
				if im, ok := mapper.AsMap(list); ok && len(im) == 1 {
					for _, inner := range im { // <items><item/>…</items>
						list = inner
					}
				}
			}
		}
	}
	var raw []any
	switch v := list.(type) {
	case []any:
		raw = v
	case map[string]any, *mapper.Object:
		raw = []any{v}
	}
	out := make([]any, 0, len(raw))
	for _, it := range raw {
		item := map[string]any{}
		if im, ok := mapper.AsMap(it); ok {
			for k, v := range im {
				item[k] = v
			}
		}
		item["fulfillments"] = fulfillments
		out = append(out, item)
	}
	return out
}

// Trigger renders a trigger's template (and subject, for e-mail) over
// data into a new pending postback. A missing template or a render error
// gives a failed postback carrying the error; errors returned are load errors.
func Trigger(ctx context.Context, st *store.Store, eng *mapper.Engine, t *oi.Trigger, data map[string]any, lookups mapper.Lookups) (*oi.Postback, error) {
	tpl, err := st.GetTemplate(ctx, t.TemplateID)
	if oi.ErrorCode(err) == oi.ENOTFOUND {
		tpl, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", t.TemplateID, err)
	}
	return TriggerWith(ctx, eng, t, tpl, data, lookups)
}

// TriggerWith is Trigger with the trigger's template read by the caller
// (nil: it does not exist), as the order workflow reads it with the order.
func TriggerWith(ctx context.Context, eng *mapper.Engine, t *oi.Trigger, tpl *oi.Template, data map[string]any, lookups mapper.Lookups) (*oi.Postback, error) {
	p := &oi.Postback{ID: oi.NewID("pb"), TriggerID: t.ID, CustomerID: t.CustomerID, Method: t.Method,
		Destination: t.Destination(), Format: t.Format, RetryOnFailure: t.RetryOnFailure, Status: oi.PostbackPending}
	if tpl == nil {
		p.Status, p.StatusReason = oi.PostbackFailed, "template not found"
		return p, nil
	}
	p.TemplateVersion = tpl.Version
	format := t.Format
	if t.Method == oi.MethodEmail {
		format = tpl.Format
	}
	p.Format = format
	renderAs := format
	if t.Method == oi.MethodEmail && (format == oi.FormatText || format == "") && LooksLikeHTML([]byte(tpl.Body)) {
		// An HTML e-mail: a printer's message or a customer's name must not
		// become markup (a phishing link in the PSP's own mail).
		renderAs = string(mapper.FormatHTML)
	}
	body, rerr := eng.Render(ctx, Template(tpl, renderAs), data, lookups)
	if rerr == nil && t.Method == oi.MethodEmail && tpl.Subject != "" {
		var subj []byte
		subj, rerr = eng.Render(ctx, mapper.Template{ID: tpl.ID + "#subject", Version: tpl.Version, Format: mapper.FormatText, Body: tpl.Subject}, data, lookups)
		p.Subject = strings.TrimSpace(string(subj))
	}
	if errors.Is(rerr, context.Canceled) || errors.Is(rerr, context.DeadlineExceeded) {
		return nil, fmt.Errorf("render template %s: %w", tpl.ID, rerr) // cut short, not the template's fault: retried
	}
	if rerr != nil {
		p.Status, p.StatusReason, p.RenderError = oi.PostbackFailed, "template error: "+rerr.Error(), ErrorJSON(rerr)
		return p, nil
	}
	p.Body = body
	return p, nil
}

// TestPostback renders a trigger against the documented sample of
// event ("send test"). The postback belongs to no order, is marked as a test,
// and is tried once: the operator sees the answer at once and can resend.
func TestPostback(ctx context.Context, st *store.Store, eng *mapper.Engine, t *oi.Trigger, event string) (*oi.Postback, error) {
	data, ok := mapper.SamplePostbackContext(event)
	if !ok {
		return nil, oi.FieldError("event", "event must be one of %s", strings.Join(oi.Events, ", "))
	}
	eventID := oi.NewID("test")
	// The receiver may route by customer; the rest stays the documented sample.
	data["customerId"], data["eventId"] = t.CustomerID, eventID
	lookups, err := Lookups(ctx, st, t.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("load lookups of %s: %w", t.CustomerID, err)
	}
	p, err := Trigger(ctx, st, eng, t, data, lookups)
	if err != nil {
		return nil, err
	}
	p.Event, p.EventID, p.IsTest, p.RetryOnFailure = event, eventID, true, false
	return p, nil
}

// ErrorJSON is how a render error is stored and shown.
func ErrorJSON(err error) json.RawMessage {
	var me *mapper.Error
	m := map[string]any{"kind": "runtime", "message": err.Error()}
	if errors.As(err, &me) {
		m = map[string]any{"kind": me.Kind, "message": me.Message, "where": me.Where, "line": me.Line, "column": me.Column, "excerpt": me.Excerpt}
	}
	b, _ := json.Marshal(m)
	return b
}

// Lookups loads a customer's lookup tables for the mapper.
func Lookups(ctx context.Context, st *store.Store, customerID string) (mapper.Lookups, error) {
	tables, err := st.ListLookups(ctx, customerID)
	if err != nil {
		return nil, err
	}
	return LookupTables(tables), nil
}

// LookupTables are lookup tables as the mapper takes them.
func LookupTables(tables []*oi.LookupTable) mapper.Lookups {
	out := make(mapper.Lookups, len(tables))
	for _, t := range tables {
		out[t.Name] = mapper.LookupTable{Default: t.Default, Rows: t.Rows}
	}
	return out
}

// Template is a stored template as the mapper takes it; format ""
// keeps the template's own.
func Template(t *oi.Template, format string) mapper.Template {
	if format == "" {
		format = t.Format
	}
	return mapper.Template{ID: t.ID, Version: t.Version, Format: mapper.Format(format), Body: t.Body, Strict: t.Strict}
}

// LooksLikeHTML reports a rendered e-mail body that is an HTML document: it
// is sent as HTML with a plain-text alternative; other bodies as plain text.
func LooksLikeHTML(b []byte) bool {
	head := strings.ToLower(strings.TrimSpace(string(b[:min(len(b), 256)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}
