package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/net/html"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
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
	return RenderTrigger(ctx, a.Store, a.Mapper, t, data, lookups)
}

// RenderTrigger renders a trigger's template (and subject, for e-mail) over
// data into a new pending postback. A missing template or a render error
// gives a failed postback carrying the error; errors returned are load errors.
func RenderTrigger(ctx context.Context, st *store.Store, eng *mapper.Engine, t *oi.Trigger, data map[string]any, lookups mapper.Lookups) (*oi.Postback, error) {
	p := &oi.Postback{ID: oi.NewID("pb"), TriggerID: t.ID, CustomerID: t.CustomerID, Method: t.Method,
		Destination: t.Destination(), Format: t.Format, RetryOnFailure: t.RetryOnFailure, Status: oi.PostbackPending}
	tpl, err := st.GetTemplate(ctx, t.TemplateID)
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
	renderAs := format
	if t.Method == oi.MethodEmail && (format == oi.FormatText || format == "") && looksLikeHTML([]byte(tpl.Body)) {
		// An HTML e-mail: a printer's message or a customer's name must not
		// become markup (a phishing link in the PSP's own mail).
		renderAs = string(mapper.FormatHTML)
	}
	body, rerr := eng.Render(ctx, mapperTemplate(tpl, renderAs), data, lookups)
	if rerr == nil && t.Method == oi.MethodEmail && tpl.Subject != "" {
		var subj []byte
		subj, rerr = eng.Render(ctx, mapper.Template{ID: tpl.ID + "#subject", Version: tpl.Version, Format: mapper.FormatText, Body: tpl.Subject}, data, lookups)
		p.Subject = strings.TrimSpace(string(subj))
	}
	if errors.Is(rerr, context.Canceled) || errors.Is(rerr, context.DeadlineExceeded) {
		return nil, fmt.Errorf("render template %s: %w", tpl.ID, rerr) // cut short, not the template's fault: retried
	}
	if rerr != nil {
		p.Status, p.StatusReason, p.RenderError = oi.PostbackFailed, "template error: "+rerr.Error(), templateErrorJSON(rerr)
		return p, nil
	}
	p.Body = body
	return p, nil
}

// CustomerLookups loads a customer's lookup tables for the mapper.
func CustomerLookups(ctx context.Context, st *store.Store, customerID string) (mapper.Lookups, error) {
	return (&Activities{Store: st}).lookupsFor(ctx, customerID)
}

// RenderTestPostback renders a trigger against the documented sample of
// event ("send test"). The postback belongs to no order, is marked as a test,
// and is tried once: the operator sees the answer at once and can resend.
func RenderTestPostback(ctx context.Context, st *store.Store, eng *mapper.Engine, t *oi.Trigger, event string) (*oi.Postback, error) {
	data, ok := mapper.SamplePostbackContext(event)
	if !ok {
		return nil, oi.FieldError("event", "event must be one of %s", strings.Join(oi.Events, ", "))
	}
	eventID := oi.NewID("test")
	// The receiver may route by customer; the rest stays the documented sample.
	data["customerId"], data["eventId"] = t.CustomerID, eventID
	lookups, err := CustomerLookups(ctx, st, t.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("load lookups of %s: %w", t.CustomerID, err)
	}
	p, err := RenderTrigger(ctx, st, eng, t, data, lookups)
	if err != nil {
		return nil, err
	}
	p.Event, p.EventID, p.IsTest, p.RetryOnFailure = event, eventID, true, false
	return p, nil
}

// DeliverPostback makes one attempt at a postback and records it. It returns
// an error (with the schedule's next delay) only when another attempt is
// due; a postback that reached a final state returns its status. A retry
// after a crash finds a delivered postback and sends nothing again. Each
// series (the scheduled one, then one per resend) follows the schedule from
// its start; attempts of a resend or a test are recorded as manual.
func (a *Activities) DeliverPostback(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
	p, err := a.Store.GetPostback(ctx, in.PostbackID)
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("load postback %s: %w", in.PostbackID, err)
	}
	if p.Status != oi.PostbackPending {
		// A resend makes the postback pending before its series starts, so
		// this is a retry after the final attempt was recorded.
		return workflows.DeliverResult{Status: p.Status, Attempts: p.Attempts}, nil
	}
	series, base, err := a.Store.PostbackSeries(ctx, p.ID)
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("load attempt series of postback %s: %w", p.ID, err)
	}
	t, err := a.Store.GetTrigger(ctx, p.TriggerID)
	if err != nil {
		return workflows.DeliverResult{}, fmt.Errorf("load trigger %s: %w", p.TriggerID, err)
	}
	plan := attemptPlan{manual: in.Manual || series > 0, position: p.Attempts - base + 1, started: a.now()}
	var res delivery.Result
	if p.Method == oi.MethodEmail {
		res, err = a.sendEmail(ctx, p, t)
	} else {
		res, err = a.sendWebhook(ctx, p)
	}
	if err != nil {
		return workflows.DeliverResult{}, err
	}
	return a.recordAttempt(ctx, p, t, plan, res)
}

// now reads the attempt records' clock.
func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Activities) sendWebhook(ctx context.Context, p *oi.Postback) (delivery.Result, error) {
	sealed, err := a.Store.TriggerSecrets(ctx, p.TriggerID)
	if err != nil {
		return delivery.Result{}, fmt.Errorf("load secrets of trigger %s: %w", p.TriggerID, err)
	}
	secrets := make([]string, 0, len(sealed))
	for _, s := range sealed {
		plain, _, err := a.Sealer.OpenFor(s, seal.TriggerSecret(p.TriggerID))
		if err != nil {
			return delivery.Result{}, nonRetryable(workflows.ErrOrderConfig, "cannot open the trigger's signing secret", nil)
		}
		secrets = append(secrets, plain)
	}
	// webhook-id is the postback id: stable across retries and resends, so
	// receivers can drop repeats. The timestamp is the real time of sending,
	// which receivers check against their own clock.
	return a.Webhooks.Send(ctx, delivery.WebhookRequest{MessageID: p.ID, URL: p.Destination, Body: p.Body,
		Format: p.Format, Secrets: secrets, Timestamp: time.Now()}), nil
}

func (a *Activities) sendEmail(ctx context.Context, p *oi.Postback, t *oi.Trigger) (delivery.Result, error) {
	st, sealed, err := a.Store.GetSMTPSettings(ctx)
	if err != nil {
		return delivery.Result{}, fmt.Errorf("load smtp settings: %w", err)
	}
	password, _, err := a.Sealer.OpenFor(sealed, seal.SMTPPassword)
	if err != nil {
		return delivery.Result{}, nonRetryable(workflows.ErrOrderConfig, "cannot open the SMTP password", nil)
	}
	settings := delivery.SMTPSettings{FromAddress: st.FromAddress, FromName: st.FromName, Host: st.Host, Port: st.Port,
		Username: st.Username, Password: password, TLS: st.TLS, AllowPlainAuth: st.AllowPlainAuth}
	mail := delivery.Email{MessageID: emailMessageID(p, st.FromAddress), To: t.Emails, Subject: p.Subject, Text: string(p.Body)}
	if looksLikeHTML(p.Body) {
		mail.HTML, mail.Text = string(p.Body), htmlToText(p.Body)
	}
	return a.Mailer.Send(ctx, settings, mail), nil
}

// emailMessageID derives the Message-ID from the event id (and the postback,
// since one event can mail several triggers), so every attempt and resend of
// one postback carries the same id and mail clients thread or drop repeats.
func emailMessageID(p *oi.Postback, from string) string {
	domain := "orderintake.local"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" && !strings.ContainsAny(d, "<>[] \t\r\n") {
		domain = d
	}
	// The printer's event id is free text; keep what a msg-id may carry.
	ev := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
			return r
		}
		return '-'
	}, p.EventID)
	if len(ev) > 64 {
		ev = ev[:64]
	}
	return "<" + ev + "." + p.ID + "@" + domain + ">"
}

// looksLikeHTML reports a rendered e-mail body that is an HTML document: it
// is sent as HTML with a plain-text alternative; other bodies as plain text.
func looksLikeHTML(b []byte) bool {
	head := strings.ToLower(strings.TrimSpace(string(b[:min(len(b), 256)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}

// htmlToText is the plain-text part of an HTML e-mail: the document's text,
// with block elements on their own lines and scripts and styles dropped.
func htmlToText(b []byte) string {
	var sb strings.Builder
	z := html.NewTokenizer(bytes.NewReader(b))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			lines := strings.Split(sb.String(), "\n")
			out := make([]string, 0, len(lines))
			for _, l := range lines {
				if l = strings.Join(strings.Fields(l), " "); l != "" || (len(out) > 0 && out[len(out)-1] != "") {
					out = append(out, l)
				}
			}
			return strings.TrimSpace(strings.Join(out, "\n"))
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head":
				if z.Token().Type == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol":
				sb.WriteByte('\n')
			case "td", "th":
				sb.WriteByte(' ')
			}
		}
	}
}

// attemptPlan is what DeliverPostback knows before an attempt.
type attemptPlan struct {
	manual   bool      // the attempt belongs to a resend or a test
	position int       // 1-based place of this attempt in its series' schedule
	started  time.Time // on a.now()'s clock
}

// recordAttempt stores the attempt and decides what happens next.
func (a *Activities) recordAttempt(ctx context.Context, p *oi.Postback, t *oi.Trigger, plan attemptPlan, res delivery.Result) (workflows.DeliverResult, error) {
	at := res.Attempt
	att := &oi.PostbackAttempt{PostbackID: p.ID, Trigger: "scheduled", StartedAt: plan.started, DurationMs: int(at.Duration.Milliseconds()),
		ResolvedIP: at.ResolvedIP, RequestHeaders: at.RequestHeaders, RequestBody: at.RequestBody, ResponseStatus: at.ResponseStatus,
		ResponseHeaders: at.ResponseHeaders, ResponseBody: at.ResponseBody, Outcome: string(res.Outcome), ErrorKind: at.ErrorKind, Error: at.Error}
	if plan.manual {
		att.Trigger = "manual"
	}
	status, reason := oi.PostbackPending, at.Error
	var next time.Duration
	switch res.Outcome {
	case delivery.Delivered:
		status, reason = oi.PostbackDelivered, ""
	case delivery.Permanent:
		status = oi.PostbackFailed
		switch at.ErrorKind {
		case delivery.KindConfig:
			// Bad settings (SMTP credentials, a malformed address): a person must fix them.
			reason = "configuration problem: " + at.Error
		case delivery.KindBlocked:
			reason = "destination refused by the private-address guard: " + at.Error
		}
	case delivery.Gone:
		status, reason = oi.PostbackFailed, "receiver answered 410 Gone: trigger disabled"
	case delivery.Aborted:
		status, reason = oi.PostbackAborted, "receiver asked to stop (webhook-delivery: abort-message)"
	case delivery.Retry:
		ok := false
		if p.RetryOnFailure {
			next, ok = delivery.NextDelay(plan.position+1, rand.Float64(), res.RetryAfter)
		}
		if !ok {
			status = oi.PostbackFailed
			if p.RetryOnFailure {
				status, reason = oi.PostbackExhausted, fmt.Sprintf("no answer after %d attempts: %s", plan.position, at.Error)
			}
		} else {
			when := a.now().Add(next)
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
