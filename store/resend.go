package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// InsertTestPostback records a postback rendered against a sample event: it
// belongs to no order and starts as manual attempt series 1.
func (s *Store) InsertTestPostback(ctx context.Context, p *oi.Postback) (*oi.Postback, error) {
	out, err := scanPostback(s.pool.QueryRow(ctx, `insert into postbacks (id, order_id, event, event_id, trigger_id,
		customer_id, method, destination, format, template_version, subject, body, render_error, retry_on_failure, is_test,
		status, status_reason, series) values ($1, null, $2, $3, $4, $5, $6, $7, $8, nullif($9, 0), $10, $11, $12, $13, true,
		$14, $15, 1) returning `+postbackCols, p.ID, p.Event, p.EventID, p.TriggerID, p.CustomerID, p.Method, p.Destination,
		p.Format, p.TemplateVersion, p.Subject, p.Body, p.RenderError, p.RetryOnFailure, p.Status, p.StatusReason))
	return out, mapErr(err, "postback")
}

// PostbackSeries returns a postback's current attempt series and the number of
// attempts made before it began.
func (s *Store) PostbackSeries(ctx context.Context, id string) (series, base int, err error) {
	err = s.pool.QueryRow(ctx, `select series, series_base from postbacks where id = $1`, id).Scan(&series, &base)
	return series, base, mapErr(err, "postback")
}

// Resend is one postback claimed for a new attempt series.
type Resend struct {
	PostbackID string
	CustomerID string
	Series     int
	// PrevStatus and PrevReason are what the postback was before the claim,
	// for ReleaseResend when the series cannot be started.
	PrevStatus, PrevReason string
}

// resendable is what a postback needs for a new series (alias: "" or "p."): it
// is not being delivered already, and it has a payload (a template error left none).
func resendable(alias string) string {
	return alias + `status <> 'pending' and ` + alias + `body is not null and ` + alias + `render_error is null`
}

// ClaimResend makes a postback pending again as a new attempt series whose
// schedule starts from the beginning. Claiming is atomic, so two operators
// (or a double click) start one series, not two.
func (s *Store) ClaimResend(ctx context.Context, id string) (*Resend, error) {
	r := Resend{PostbackID: id}
	err := s.pool.QueryRow(ctx, `with prev as (select id, status, status_reason from postbacks where id = $1 for update)
		update postbacks p set status = 'pending', status_reason = '', next_attempt_at = null, series = p.series + 1,
		series_base = p.attempts, updated_at = now() from prev where p.id = prev.id and `+resendable("p.")+`
		returning p.customer_id, p.series, prev.status, prev.status_reason`, id).Scan(&r.CustomerID, &r.Series, &r.PrevStatus, &r.PrevReason)
	if err != pgx.ErrNoRows {
		return &r, mapErr(err, "postback")
	}
	// Nothing claimed: say why.
	p, err := s.GetPostback(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status == oi.PostbackPending {
		return nil, oi.Errorf(oi.ECONFLICT, "postback %s is still being delivered (attempt %d so far); resend it once it is delivered, failed, exhausted or aborted", id, p.Attempts)
	}
	return nil, oi.Errorf(oi.ECONFLICT, "postback %s has nothing to send: its template failed to render (%s)", id, p.StatusReason)
}

// BulkResend selects postbacks for ClaimBulkResend: created in [From, To),
// in one of Statuses, of one trigger when TriggerID is set. Test postbacks
// are left out: they are resent one at a time.
type BulkResend struct {
	From, To  time.Time
	Statuses  []string
	TriggerID string
	Limit     int
}

// ClaimBulkResend claims up to f.Limit postbacks (oldest first) as ClaimResend
// does, skipping rows another claim holds; more reports that further rows
// matched beyond the limit.
func (s *Store) ClaimBulkResend(ctx context.Context, f BulkResend) (out []Resend, more bool, err error) {
	rows, _ := s.pool.Query(ctx, `with prev as (select id, status, status_reason from postbacks
			where created_at >= $1 and created_at < $2 and status = any($3) and ($4 = '' or trigger_id = $4)
			and not is_test and `+resendable("")+` order by created_at, id limit $5 for update skip locked)
		update postbacks p set status = 'pending', status_reason = '', next_attempt_at = null, series = p.series + 1,
		series_base = p.attempts, updated_at = now() from prev where p.id = prev.id
		returning p.id, p.customer_id, p.series, prev.status, prev.status_reason`, f.From, f.To, f.Statuses, f.TriggerID, f.Limit)
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Resend, error) {
		var x Resend
		err := r.Scan(&x.PostbackID, &x.CustomerID, &x.Series, &x.PrevStatus, &x.PrevReason)
		return x, err
	})
	if err != nil {
		return nil, false, mapErr(err, "postbacks")
	}
	if len(out) == f.Limit {
		err = s.pool.QueryRow(ctx, `select exists (select 1 from postbacks where created_at >= $1 and created_at < $2
			and status = any($3) and ($4 = '' or trigger_id = $4) and not is_test and `+resendable("")+`)`,
			f.From, f.To, f.Statuses, f.TriggerID).Scan(&more)
	}
	return out, more, mapErr(err, "postbacks")
}

// ReleaseResend undoes a claim whose series could not be started (Temporal
// unreachable), unless the series already recorded an attempt.
func (s *Store) ReleaseResend(ctx context.Context, r *Resend) error {
	_, err := s.pool.Exec(ctx, `update postbacks set status = $3, status_reason = $4, updated_at = now()
		where id = $1 and series = $2 and status = 'pending' and attempts = series_base`, r.PostbackID, r.Series, r.PrevStatus, r.PrevReason)
	return mapErr(err, "postback")
}

// ClearSMTPPassword removes the stored SMTP password (a server that needs none).
func (s *Store) ClearSMTPPassword(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `update smtp_settings set password_sealed = null, updated_at = now() where id`)
	return mapErr(err, "smtp settings")
}
