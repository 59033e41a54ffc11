package store

import (
	"context"
	"time"

	oi "orderintake"
)

// Delivery is what one attempt at a postback needs, read in one round trip.
type Delivery struct {
	Postback *oi.Postback
	// Series and Base are the attempt series and the attempts made before it
	// (PostbackSeries).
	Series, Base int
	// Trigger and Secrets (sealed, as TriggerSecrets) are nil when the
	// trigger is gone.
	Trigger *oi.Trigger
	Secrets [][]byte
}

// LoadDelivery reads a postback, its attempt series, its trigger and the
// trigger's signing secrets in one statement (GetPostback, PostbackSeries,
// GetTrigger and TriggerSecrets; the trigger's columns are null when it is
// gone).
func (s *Store) LoadDelivery(ctx context.Context, postbackID string) (*Delivery, error) {
	d := &Delivery{}
	var p oi.Postback
	var t struct {
		id, customerID, name, event, method, templateID, format, url, status, disabledReason *string
		emails                                                                               []string
		retry                                                                                *bool
		created, updated                                                                     *time.Time
		cur, prev                                                                            []byte
		until                                                                                *time.Time
	}
	err := s.pool.QueryRow(ctx, `select p.id, coalesce(p.order_id, ''), p.event, p.event_id, p.trigger_id, p.customer_id,
		p.method, p.destination, p.format, coalesce(p.template_version, 0), p.subject, p.body, p.render_error,
		p.retry_on_failure, p.is_test, p.status, p.status_reason, p.attempts, p.created_at, p.updated_at, p.next_attempt_at,
		p.series, p.series_base,
		t.id, t.customer_id, t.name, t.event, t.method, t.template_id, t.format, t.url, t.emails, t.retry_on_failure, t.status,
		t.disabled_reason, t.created_at, t.updated_at, t.secret_sealed, t.prev_secret_sealed, t.prev_secret_until
		from postbacks p left join triggers t on t.id = p.trigger_id where p.id = $1`, postbackID).Scan(
		&p.ID, &p.OrderID, &p.Event, &p.EventID, &p.TriggerID, &p.CustomerID, &p.Method, &p.Destination,
		&p.Format, &p.TemplateVersion, &p.Subject, &p.Body, &p.RenderError, &p.RetryOnFailure, &p.IsTest, &p.Status,
		&p.StatusReason, &p.Attempts, &p.CreatedAt, &p.UpdatedAt, &p.NextAttemptAt, &d.Series, &d.Base,
		&t.id, &t.customerID, &t.name, &t.event, &t.method, &t.templateID, &t.format, &t.url, &t.emails, &t.retry, &t.status,
		&t.disabledReason, &t.created, &t.updated, &t.cur, &t.prev, &t.until)
	if err != nil {
		return nil, mapErr(err, "postback")
	}
	d.Postback = &p
	if t.id != nil { // no trigger: the caller says so when it needs one
		d.Trigger = &oi.Trigger{ID: *t.id, CustomerID: *t.customerID, Name: *t.name, Event: *t.event, Method: *t.method,
			TemplateID: *t.templateID, Format: *t.format, URL: *t.url, Emails: t.emails, RetryOnFailure: *t.retry,
			Status: *t.status, DisabledReason: *t.disabledReason, CreatedAt: *t.created, UpdatedAt: *t.updated}
		d.Secrets = signingSecrets(t.cur, t.prev, t.until)
	}
	return d, nil
}

// signingSecrets are the sealed secrets that sign now: the current one and,
// within its grace period, the previous one.
func signingSecrets(cur, prev []byte, until *time.Time) [][]byte {
	out := [][]byte{}
	if cur != nil {
		out = append(out, cur)
	}
	if prev != nil && until != nil && time.Now().Before(*until) {
		out = append(out, prev)
	}
	return out
}

// RecordAttempt records one attempt and the postback's state after it in one
// statement: InsertAttempt and SetPostbackStatus in one round trip. The
// attempt number is the next free one, as InsertAttempt's.
func (s *Store) RecordAttempt(ctx context.Context, a *oi.PostbackAttempt, status, reason string, next *time.Time) (*oi.PostbackAttempt, error) {
	if a.RequestHeaders == nil {
		a.RequestHeaders = map[string]string{}
	}
	err := s.pool.QueryRow(ctx, `with counted as (update postbacks set attempts = attempts + 1, status = $15, status_reason = $16,
			next_attempt_at = $17, updated_at = now() where id = $1 returning attempts)
		insert into postback_attempts (postback_id, attempt, trigger, started_at, duration_ms, resolved_ip, request_headers,
			request_body, response_status, response_headers, response_body, outcome, error_kind, error, next_attempt_at)
		select $1, counted.attempts, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 from counted
		returning id, attempt`,
		a.PostbackID, a.Trigger, a.StartedAt, a.DurationMs, a.ResolvedIP, a.RequestHeaders, a.RequestBody,
		nullInt(a.ResponseStatus), a.ResponseHeaders, a.ResponseBody, a.Outcome, a.ErrorKind, a.Error, a.NextAttemptAt,
		status, reason, next).Scan(&a.ID, &a.Attempt)
	return a, mapErr(err, "attempt")
}
