package activities

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/net/html"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/render"
	"orderintake/workflows"
)

// CreatePostbacks renders one postback per active trigger of the event and
// stores them (once per (event, trigger)). A template that fails to render
// gives a failed postback with the error, not a failed order.
func (a *Activities) CreatePostbacks(ctx context.Context, in workflows.CreatePostbacksInput) ([]workflows.PostbackRef, error) {
	pbs, err := a.renderPostbacks(ctx, in.OrderID, in.Event)
	if err != nil {
		return nil, err
	}
	refs := make([]workflows.PostbackRef, 0, len(pbs))
	for _, p := range pbs {
		stored, err := a.Store.InsertPostback(ctx, p, in.OrderEventID)
		if err != nil {
			return nil, fmt.Errorf("store postback of %s for trigger %s: %w", p.OrderID, p.TriggerID, err)
		}
		refs = append(refs, postbackRef(stored))
	}
	return refs, nil
}

// RecordEventAndPostbacks is RecordEvent and, for an accepted event,
// CreatePostbacks in one local activity: the postbacks are rendered first,
// then the event, the order's status and the postbacks are written in one
// transaction, so a retry after a failure writes each of them once.
func (a *Activities) RecordEventAndPostbacks(ctx context.Context, in workflows.RecordEventInput) (workflows.RecordEventResult, error) {
	var pbs []*oi.Postback
	if in.Accepted {
		var err error
		if pbs, err = a.renderPostbacks(ctx, in.OrderID, in.Event); err != nil {
			return workflows.RecordEventResult{}, err
		}
	}
	ev, inserted, stored, err := a.Store.RecordEventWithPostbacks(ctx, orderEvent(in), in.Accepted && in.Source == "printer", pbs)
	if err != nil {
		return workflows.RecordEventResult{}, fmt.Errorf("record event %s of %s with its postbacks: %w", in.Event.EventID, in.OrderID, err)
	}
	res := workflows.RecordEventResult{OrderEventID: ev.ID, Inserted: inserted}
	for _, p := range stored {
		res.Postbacks = append(res.Postbacks, postbackRef(p))
	}
	return res, nil
}

func postbackRef(p *oi.Postback) workflows.PostbackRef {
	return workflows.PostbackRef{ID: p.ID, Destination: p.Destination, Status: p.Status}
}

// renderPostbacks renders the postbacks of the customer's active triggers
// for an event of an order, not stored yet. The order, its triggers with
// their templates and the lookup tables are read in one statement.
func (a *Activities) renderPostbacks(ctx context.Context, orderID string, ev workflows.PrinterEvent) ([]*oi.Postback, error) {
	src, err := a.Store.GetPostbackSources(ctx, orderID, ev.Status)
	if err != nil {
		return nil, fmt.Errorf("load order %s with its triggers: %w", orderID, err)
	}
	if len(src.Triggers) == 0 {
		return nil, nil
	}
	o, lookups := src.Order, render.LookupTables(src.Lookups)
	data := render.PostbackContext(o, ev)
	out := make([]*oi.Postback, 0, len(src.Triggers))
	for _, t := range src.Triggers {
		p, err := render.TriggerWith(ctx, a.Mapper, t.Trigger, t.Template, data, lookups)
		if err != nil {
			return nil, err
		}
		p.OrderID, p.Event, p.EventID = o.ID, ev.Status, ev.EventID
		out = append(out, p)
	}
	return out, nil
}

// DeliverPostback makes one attempt at a postback and records it. It returns
// an error (with the schedule's next delay) only when another attempt is
// due; a postback that reached a final state returns its status. A retry
// after a crash finds a delivered postback and sends nothing again. Each
// series (the scheduled one, then one per resend) follows the schedule from
// its start; attempts of a resend or a test are recorded as manual.
func (a *Activities) DeliverPostback(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
	out, err := a.deliver(ctx, in, false)
	if err != nil {
		return workflows.DeliverResult{}, err
	}
	if out.res.Status == oi.PostbackPending {
		return workflows.DeliverResult{}, temporal.NewApplicationErrorWithOptions(out.retryMsg, "DeliveryRetry",
			temporal.ApplicationErrorOptions{NextRetryDelay: out.next})
	}
	return out.res, nil
}

// DeliverPostbackFirst makes the first attempt of a postback's series as a
// local activity in the order's workflow task (no activity task round trip).
// Its webhook or SMTP call ends by in.SendTimeout, below the local
// activity's cap, so the attempt is recorded either way. A postback left
// pending comes back with the delay before its next attempt, which the
// workflow hands to DeliverPostback. Run again (the workflow task was
// retried after a crash), it sends nothing if the series already has an
// attempt: the regular activity goes on from there.
func (a *Activities) DeliverPostbackFirst(ctx context.Context, in workflows.DeliverInput) (workflows.DeliverResult, error) {
	out, err := a.deliver(ctx, in, true)
	if err != nil {
		return workflows.DeliverResult{}, err
	}
	out.res.RetryIn = out.next
	return out.res, nil
}

// delivered is what one call of deliver found or did.
type delivered struct {
	res      workflows.DeliverResult
	next     time.Duration // before the next attempt, when res is pending
	retryMsg string        // why another attempt is due
}

func (a *Activities) deliver(ctx context.Context, in workflows.DeliverInput, first bool) (delivered, error) {
	d, err := a.Store.LoadDelivery(ctx, in.PostbackID)
	if err != nil {
		return delivered{}, fmt.Errorf("load postback %s: %w", in.PostbackID, err)
	}
	p := d.Postback
	if p.Status != oi.PostbackPending {
		// A resend makes the postback pending before its series starts, so
		// this is a retry after the final attempt was recorded.
		return delivered{res: workflows.DeliverResult{Status: p.Status, Attempts: p.Attempts}}, nil
	}
	if first && p.Attempts > d.Base {
		// The first attempt is recorded already: the schedule goes on.
		out := delivered{res: workflows.DeliverResult{Status: p.Status, Attempts: p.Attempts}}
		if p.NextAttemptAt != nil {
			out.next = max(0, p.NextAttemptAt.Sub(a.now()))
		}
		return out, nil
	}
	t := d.Trigger
	if t == nil {
		return delivered{}, fmt.Errorf("load trigger %s: %w", p.TriggerID, oi.Errorf(oi.ENOTFOUND, "trigger not found"))
	}
	plan := attemptPlan{manual: in.Manual || d.Series > 0, position: p.Attempts - d.Base + 1, started: a.now()}
	sctx := ctx
	if in.SendTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, in.SendTimeout)
		defer cancel()
	}
	var res delivery.Result
	if p.Method == oi.MethodEmail {
		res, err = a.sendEmail(sctx, p, t)
	} else {
		res, err = a.sendWebhook(sctx, p, d.Secrets)
	}
	if err != nil {
		return delivered{}, err
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

// sendWebhook signs with the trigger's sealed signing secrets (TriggerSecrets).
func (a *Activities) sendWebhook(ctx context.Context, p *oi.Postback, sealed [][]byte) (delivery.Result, error) {
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
	if render.LooksLikeHTML(p.Body) {
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
func (a *Activities) recordAttempt(ctx context.Context, p *oi.Postback, t *oi.Trigger, plan attemptPlan, res delivery.Result) (delivered, error) {
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
	stored, err := a.Store.RecordAttempt(ctx, att, status, reason, att.NextAttemptAt)
	if err != nil {
		return delivered{}, fmt.Errorf("record attempt of %s: %w", p.ID, err)
	}
	if res.Outcome == delivery.Gone {
		if err := a.Store.DisableTrigger(ctx, t.ID, "receiver answered 410 Gone to postback "+p.ID); err != nil {
			return delivered{}, fmt.Errorf("disable trigger %s: %w", t.ID, err)
		}
	}
	a.alert(ctx, postbackOutcome(t, p, res, status, reason))
	out := delivered{res: workflows.DeliverResult{Status: status, Attempts: stored.Attempt}}
	if status == oi.PostbackPending {
		out.next = next
		out.retryMsg = fmt.Sprintf("attempt %d of postback %s: %s", stored.Attempt, p.ID, at.Error)
	}
	return out, nil
}
