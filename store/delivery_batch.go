package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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
// trigger's signing secrets in one pipelined batch: GetPostback,
// PostbackSeries, GetTrigger and TriggerSecrets in one round trip.
func (s *Store) LoadDelivery(ctx context.Context, postbackID string) (*Delivery, error) {
	d := &Delivery{}
	b := &pgx.Batch{}
	b.Queue(`select `+postbackCols+`, series, series_base from postbacks where id = $1`, postbackID).QueryRow(func(row pgx.Row) error {
		var p oi.Postback
		err := row.Scan(&p.ID, &p.OrderID, &p.Event, &p.EventID, &p.TriggerID, &p.CustomerID, &p.Method, &p.Destination,
			&p.Format, &p.TemplateVersion, &p.Subject, &p.Body, &p.RenderError, &p.RetryOnFailure, &p.IsTest, &p.Status,
			&p.StatusReason, &p.Attempts, &p.CreatedAt, &p.UpdatedAt, &p.NextAttemptAt, &d.Series, &d.Base)
		if err != nil {
			return err
		}
		d.Postback = &p
		return nil
	})
	b.Queue(`select `+triggerCols+`, secret_sealed, prev_secret_sealed, prev_secret_until from triggers
		where id = (select trigger_id from postbacks where id = $1)`, postbackID).QueryRow(func(row pgx.Row) error {
		var t oi.Trigger
		var cur, prev []byte
		var until *time.Time
		err := row.Scan(&t.ID, &t.CustomerID, &t.Name, &t.Event, &t.Method, &t.TemplateID, &t.Format, &t.URL, &t.Emails,
			&t.RetryOnFailure, &t.Status, &t.DisabledReason, &t.CreatedAt, &t.UpdatedAt, &cur, &prev, &until)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // no trigger: the caller says so when it needs one
		}
		if err != nil {
			return err
		}
		d.Trigger, d.Secrets = &t, signingSecrets(cur, prev, until)
		return nil
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, mapErr(err, "postback")
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
