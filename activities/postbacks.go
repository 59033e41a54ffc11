package activities

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/mapper"
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
	if body, _, err := mapper.ParseInput(o.Original.ContentType, o.Original.Body); err == nil {
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
	m, ok := body.(map[string]any)
	if !ok {
		return nil
	}
	list, found := m["items"]
	if !found && len(m) == 1 {
		for _, root := range m {
			if rm, ok := root.(map[string]any); ok {
				list, found = rm["items"]
				if im, ok := list.(map[string]any); ok && len(im) == 1 {
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
	case map[string]any:
		raw = []any{v}
	}
	out := make([]any, 0, len(raw))
	for _, it := range raw {
		item := map[string]any{}
		if im, ok := it.(map[string]any); ok {
			for k, v := range im {
				item[k] = v
			}
		}
		item["fulfillments"] = fulfillments
		out = append(out, item)
	}
	return out
}

// CreatePostbacks renders one postback per active trigger of the event and
// stores them (once per (event, trigger)). A template that fails to render
// gives a failed postback with the error, not a failed order.
func (a *Activities) CreatePostbacks(ctx context.Context, in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) {
	o, err := a.Store.GetOrderRequest(ctx, in.OrderID)
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", in.OrderID, err)
	}
	triggers, err := a.Store.ActiveTriggers(ctx, o.CustomerID, in.Event.Status)
	if err != nil {
		return nil, fmt.Errorf("load triggers of %s: %w", o.CustomerID, err)
	}
	if len(triggers) == 0 {
		return nil, nil
	}
	lookups, err := a.lookupsFor(ctx, o.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("load lookups of %s: %w", o.CustomerID, err)
	}
	data := PostbackContext(o, in.Event)
	refs := make([]workflows.PostbackRef, 0, len(triggers))
	for _, t := range triggers {
		p, err := a.renderPostback(ctx, t, data, lookups)
		if err != nil {
			return nil, err
		}
		p.OrderID, p.Event, p.EventID = o.ID, in.Event.Status, in.Event.EventID
		stored, err := a.Store.InsertPostback(ctx, p, in.OrderEventID)
		if err != nil {
			return nil, fmt.Errorf("store postback of %s for trigger %s: %w", o.ID, t.ID, err)
		}
		refs = append(refs, workflows.PostbackRef{ID: stored.ID, Destination: stored.Destination, Status: stored.Status})
	}
	return refs, nil
}

// renderPostback renders a trigger's template (and subject, for e-mail)
// into a new postback row. Errors returned are load errors (retried).
func (a *Activities) renderPostback(ctx context.Context, t *oi.Trigger, data map[string]any, lookups mapper.Lookups) (*oi.Postback, error) {
	p := &oi.Postback{ID: oi.NewID("pb"), TriggerID: t.ID, CustomerID: t.CustomerID, Method: t.Method,
		Destination: t.Destination(), Format: t.Format, RetryOnFailure: t.RetryOnFailure, Status: oi.PostbackPending}
	tpl, err := a.Store.GetTemplate(ctx, t.TemplateID)
	if err != nil {
		if oi.ErrorCode(err) == oi.ENOTFOUND {
			p.Status, p.StatusReason = oi.PostbackFailed, "template not found"
			return p, nil
		}
		return nil, fmt.Errorf("load template %s: %w", t.TemplateID, err)
	}
	p.TemplateVersion = tpl.Version
	format := t.Format
	if t.Method == oi.MethodEmail {
		format = tpl.Format
	}
	p.Format = format
	body, rerr := a.Mapper.Render(ctx, mapperTemplate(tpl, format), data, lookups)
	if rerr == nil && t.Method == oi.MethodEmail && tpl.Subject != "" {
		var subj []byte
		subj, rerr = a.Mapper.Render(ctx, mapper.Template{ID: tpl.ID + "#subject", Version: tpl.Version, Format: mapper.FormatText, Body: tpl.Subject}, data, lookups)
		p.Subject = string(subj)
	}
	if rerr != nil {
		p.Status, p.StatusReason, p.RenderError = oi.PostbackFailed, "template error: "+rerr.Error(), templateErrorJSON(rerr)
		return p, nil
	}
	p.Body = body
	return p, nil
}

// DeliverPostback makes one attempt at a postback and records it. It returns
// an error (with the schedule's next delay) only when another attempt is
// due; a postback that reached a final state returns its status. A retry
// after a crash finds a delivered postback and sends nothing again.
func (a *Activities) DeliverPostback(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
	p, err := a.Store.GetPostback(ctx, in.PostbackID)
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("load postback %s: %w", in.PostbackID, err)
	}
	if p.Status != oi.PostbackPending && !in.Manual {
		return workflows.DeliverResult{Status: p.Status, Attempts: p.Attempts}, nil
	}
	t, err := a.Store.GetTrigger(ctx, p.TriggerID)
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("load trigger %s: %w", p.TriggerID, err)
	}
	var res delivery.Result
	if p.Method == oi.MethodEmail {
		res, err = a.sendEmail(ctx, p, t)
	} else {
		res, err = a.sendWebhook(ctx, p)
	}
	if err != nil {
		return workflows.DeliverResult{}, err
	}
	return a.recordAttempt(ctx, p, t, in.Manual, res)
}

func (a *Activities) sendWebhook(ctx context.Context, p *oi.Postback) (delivery.Result, error) {
	sealed, err := a.Store.TriggerSecrets(ctx, p.TriggerID)
	if err != nil {
		return delivery.Result{}, fmt.Errorf("load secrets of trigger %s: %w", p.TriggerID, err)
	}
	secrets := make([]string, 0, len(sealed))
	for _, s := range sealed {
		plain, err := a.Sealer.Open(s)
		if err != nil {
			return delivery.Result{}, nonRetryable(workflows.ErrOrderConfig, "cannot open the trigger's signing secret", nil)
		}
		secrets = append(secrets, plain)
	}
	return a.Webhooks.Send(ctx, delivery.WebhookRequest{MessageID: p.ID, URL: p.Destination, Body: p.Body,
		Format: p.Format, Secrets: secrets, Timestamp: time.Now()}), nil
}

func (a *Activities) sendEmail(ctx context.Context, p *oi.Postback, t *oi.Trigger) (delivery.Result, error) {
	st, sealed, err := a.Store.GetSMTPSettings(ctx)
	if err != nil {
		return delivery.Result{}, fmt.Errorf("load smtp settings: %w", err)
	}
	password, err := a.Sealer.Open(sealed)
	if err != nil {
		return delivery.Result{}, nonRetryable(workflows.ErrOrderConfig, "cannot open the SMTP password", nil)
	}
	settings := delivery.SMTPSettings{FromAddress: st.FromAddress, FromName: st.FromName, Host: st.Host, Port: st.Port,
		Username: st.Username, Password: password, TLS: st.TLS}
	// The Message-ID derives from the event, so a resend is recognisable.
	mail := delivery.Email{MessageID: "<" + p.EventID + "." + p.ID + "@orderintake>", To: t.Emails, Subject: p.Subject, Text: string(p.Body)}
	return a.Mailer.Send(ctx, settings, mail), nil
}

// recordAttempt stores the attempt and decides what happens next.
func (a *Activities) recordAttempt(ctx context.Context, p *oi.Postback, t *oi.Trigger, manual bool, res delivery.Result) (workflows.DeliverResult, error) {
	at := res.Attempt
	att := &oi.PostbackAttempt{PostbackID: p.ID, Trigger: "scheduled", StartedAt: at.StartedAt, DurationMs: int(at.Duration.Milliseconds()),
		ResolvedIP: at.ResolvedIP, RequestHeaders: at.RequestHeaders, RequestBody: at.RequestBody, ResponseStatus: at.ResponseStatus,
		ResponseHeaders: at.ResponseHeaders, ResponseBody: at.ResponseBody, Outcome: string(res.Outcome), ErrorKind: at.ErrorKind, Error: at.Error}
	if manual {
		att.Trigger = "manual"
	}
	status, reason := oi.PostbackPending, at.Error
	var next time.Duration
	switch res.Outcome {
	case delivery.Delivered:
		status, reason = oi.PostbackDelivered, ""
	case delivery.Permanent:
		status = oi.PostbackFailed
	case delivery.Gone:
		status, reason = oi.PostbackFailed, "receiver answered 410 Gone: trigger disabled"
	case delivery.Aborted:
		status, reason = oi.PostbackAborted, "receiver asked to stop (webhook-delivery: abort-message)"
	case delivery.Retry:
		ok := false
		if p.RetryOnFailure {
			next, ok = delivery.NextDelay(p.Attempts+2, rand.Float64(), res.RetryAfter)
		}
		if !ok {
			status = oi.PostbackFailed
			if p.RetryOnFailure {
				status = oi.PostbackExhausted
			}
		} else {
			when := time.Now().Add(next).UTC()
			att.NextAttemptAt = &when
		}
	}
	stored, err := a.Store.InsertAttempt(ctx, att)
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("record attempt of %s: %w", p.ID, err)
	}
	if err := a.Store.SetPostbackStatus(ctx, p.ID, status, reason, att.NextAttemptAt); err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("set status of postback %s: %w", p.ID, err)
	}
	if res.Outcome == delivery.Gone {
		if err := a.Store.DisableTrigger(ctx, t.ID, "receiver answered 410 Gone to postback "+p.ID); err != nil {
			return workflows.DeliverResult{}, fmt.Errorf("disable trigger %s: %w", t.ID, err)
		}
	}
	if status == oi.PostbackPending {
		return workflows.DeliverResult{}, temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("attempt %d of postback %s: %s", stored.Attempt, p.ID, at.Error), "DeliveryRetry",
			temporal.ApplicationErrorOptions{NextRetryDelay: next})
	}
	return workflows.DeliverResult{Status: status, Attempts: stored.Attempt}, nil
}
