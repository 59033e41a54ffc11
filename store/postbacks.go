package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

const postbackCols = `id, coalesce(order_id, ''), event, event_id, trigger_id, customer_id, method, destination, format,
	coalesce(template_version, 0), subject, body, render_error, retry_on_failure, is_test, status, status_reason, attempts,
	created_at, updated_at, next_attempt_at`

func scanPostback(row pgx.Row) (*oi.Postback, error) {
	var p oi.Postback
	err := row.Scan(&p.ID, &p.OrderID, &p.Event, &p.EventID, &p.TriggerID, &p.CustomerID, &p.Method, &p.Destination,
		&p.Format, &p.TemplateVersion, &p.Subject, &p.Body, &p.RenderError, &p.RetryOnFailure, &p.IsTest, &p.Status,
		&p.StatusReason, &p.Attempts, &p.CreatedAt, &p.UpdatedAt, &p.NextAttemptAt)
	return &p, err
}

// InsertPostback records one (event, trigger) delivery; a repeat returns the
// existing row, so the workflow's retries create it once.
func (s *Store) InsertPostback(ctx context.Context, p *oi.Postback, orderEventID int64) (*oi.Postback, error) {
	var evID *int64
	if orderEventID > 0 {
		evID = &orderEventID
	}
	out, err := scanPostback(s.pool.QueryRow(ctx, `insert into postbacks (id, order_id, order_event_id, event, event_id,
		trigger_id, customer_id, method, destination, format, template_version, subject, body, render_error, retry_on_failure,
		is_test, status, status_reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nullif($11, 0), $12, $13, $14, $15, $16, $17, $18)
		on conflict (order_id, event_id, trigger_id) do nothing returning `+postbackCols, p.ID, p.OrderID, evID, p.Event,
		p.EventID, p.TriggerID, p.CustomerID, p.Method, p.Destination, p.Format, p.TemplateVersion, p.Subject, p.Body,
		p.RenderError, p.RetryOnFailure, p.IsTest, p.Status, p.StatusReason))
	if err == pgx.ErrNoRows {
		out, err = scanPostback(s.pool.QueryRow(ctx, `select `+postbackCols+` from postbacks
			where order_id = $1 and event_id = $2 and trigger_id = $3`, p.OrderID, p.EventID, p.TriggerID))
	}
	return out, mapErr(err, "postback")
}

// GetPostback reads one postback.
func (s *Store) GetPostback(ctx context.Context, id string) (*oi.Postback, error) {
	p, err := scanPostback(s.pool.QueryRow(ctx, `select `+postbackCols+` from postbacks where id = $1`, id))
	return p, mapErr(err, "postback")
}

// ListOrderPostbacks lists the postbacks an order fired, oldest first.
func (s *Store) ListOrderPostbacks(ctx context.Context, orderID string) ([]*oi.Postback, error) {
	rows, _ := s.pool.Query(ctx, `select `+postbackCols+` from postbacks where order_id = $1 order by created_at, id`, orderID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.Postback, error) { return scanPostback(r) })
	return out, mapErr(err, "postbacks")
}

// SetPostbackStatus records a postback's state after an attempt.
func (s *Store) SetPostbackStatus(ctx context.Context, id, status, reason string, next *time.Time) error {
	_, err := s.pool.Exec(ctx, `update postbacks set status = $2, status_reason = $3, next_attempt_at = $4, updated_at = now()
		where id = $1`, id, status, reason, next)
	return mapErr(err, "postback")
}

// InsertAttempt records one attempt and counts it on its postback. The
// attempt number is the next free one, so manual resends continue the series.
func (s *Store) InsertAttempt(ctx context.Context, a *oi.PostbackAttempt) (*oi.PostbackAttempt, error) {
	if a.RequestHeaders == nil {
		a.RequestHeaders = map[string]string{}
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `update postbacks set attempts = attempts + 1, updated_at = now() where id = $1
			returning attempts`, a.PostbackID).Scan(&a.Attempt); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `insert into postback_attempts (postback_id, attempt, trigger, started_at, duration_ms,
			resolved_ip, request_headers, request_body, response_status, response_headers, response_body, outcome, error_kind,
			error, next_attempt_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) returning id`,
			a.PostbackID, a.Attempt, a.Trigger, a.StartedAt, a.DurationMs, a.ResolvedIP, a.RequestHeaders, a.RequestBody,
			nullInt(a.ResponseStatus), a.ResponseHeaders, a.ResponseBody, a.Outcome, a.ErrorKind, a.Error, a.NextAttemptAt).Scan(&a.ID)
	})
	return a, mapErr(err, "attempt")
}

// ListAttempts lists a postback's attempts in order.
func (s *Store) ListAttempts(ctx context.Context, postbackID string) ([]*oi.PostbackAttempt, error) {
	rows, _ := s.pool.Query(ctx, `select id, postback_id, attempt, trigger, started_at, duration_ms, resolved_ip, request_headers,
		request_body, coalesce(response_status, 0), response_headers, response_body, outcome, error_kind, error, next_attempt_at
		from postback_attempts where postback_id = $1 order by attempt`, postbackID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.PostbackAttempt, error) {
		var a oi.PostbackAttempt
		err := r.Scan(&a.ID, &a.PostbackID, &a.Attempt, &a.Trigger, &a.StartedAt, &a.DurationMs, &a.ResolvedIP,
			&a.RequestHeaders, &a.RequestBody, &a.ResponseStatus, &a.ResponseHeaders, &a.ResponseBody, &a.Outcome,
			&a.ErrorKind, &a.Error, &a.NextAttemptAt)
		return &a, err
	})
	return out, mapErr(err, "attempts")
}
