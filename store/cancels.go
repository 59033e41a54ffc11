package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// StartCancel records a cancel request as it came in (outcome pending). A
// repeat of the same id (a retried activity, a replayed workflow) keeps the
// first record.
func (s *Store) StartCancel(ctx context.Context, c *oi.CancelRequest) error {
	if c.Original.Headers == nil {
		c.Original.Headers = map[string][]string{}
	}
	_, err := s.pool.Exec(ctx, `insert into order_cancels (id, order_id, source, outcome, requested_at, request_content_type,
		request_headers, request_body) values ($1, $2, $3, 'pending', $4, $5, $6, $7) on conflict (id) do nothing`,
		c.ID, c.OrderID, c.Source, c.RequestedAt, c.Original.ContentType, c.Original.Headers, c.Original.Body)
	return mapErr(err, "cancel")
}

// SetCancelTemplate records the cancel template's output or error.
func (s *Store) SetCancelTemplate(ctx context.Context, id, templateID string, version int, output []byte, renderErr json.RawMessage) error {
	_, err := s.pool.Exec(ctx, `update order_cancels set template_id = nullif($2, ''), template_version = $3,
		processed_body = $4, template_error = $5, processed_at = now(), updated_at = now() where id = $1`,
		id, templateID, version, output, nullJSON(renderErr))
	return mapErr(err, "cancel")
}

// SetCancelFinal records what goes to the printer's cancel URL (before it is sent).
func (s *Store) SetCancelFinal(ctx context.Context, id string, f *oi.FinalRequest) error {
	_, err := s.pool.Exec(ctx, `update order_cancels set final_method = $2, final_url = $3, final_headers = $4, final_body = $5,
		printer_called = true, updated_at = now() where id = $1`, id, f.Method, f.URL, f.Headers, f.Body)
	return mapErr(err, "cancel")
}

// SetCancelResponse records the printer's answer to one attempt of a cancel.
func (s *Store) SetCancelResponse(ctx context.Context, id string, attempt int, r *oi.SystemResponse) error {
	_, err := s.pool.Exec(ctx, `update order_cancels set printer_attempts = greatest(printer_attempts, $2), sent_at = $3,
		response_status = $4, response_headers = $5, response_body = $6, response_latency_ms = $7, response_error = $8,
		updated_at = now() where id = $1`, id, attempt, r.SentAt, nullInt(r.Status), r.Headers, r.Body, r.LatencyMs, r.Error)
	return mapErr(err, "cancel")
}

// SetCancelOutcome ends a cancel request: canceled, refused or failed.
func (s *Store) SetCancelOutcome(ctx context.Context, id, outcome, reason string) error {
	tag, err := s.pool.Exec(ctx, `update order_cancels set outcome = $2, outcome_reason = $3, updated_at = now() where id = $1`,
		id, outcome, reason)
	if err == nil && tag.RowsAffected() == 0 {
		return oi.Errorf(oi.ENOTFOUND, "cancel %s not found", id)
	}
	return mapErr(err, "cancel")
}

const cancelCols = `id, order_id, source, outcome, outcome_reason, printer_called, requested_at, updated_at,
	request_content_type, request_headers, request_body, coalesce(template_id, ''), coalesce(template_version, 0),
	processed_body, template_error, processed_at, final_method, final_url, final_headers, final_body, printer_attempts,
	sent_at, response_status, response_headers, response_body, response_latency_ms, response_error`

func scanCancel(row pgx.Row) (*oi.CancelRequest, error) {
	var c oi.CancelRequest
	var st stageScan
	err := row.Scan(&c.ID, &c.OrderID, &c.Source, &c.Outcome, &c.OutcomeReason, &c.PrinterCalled, &c.RequestedAt, &c.UpdatedAt,
		&c.Original.ContentType, &c.Original.Headers, &c.Original.Body, &c.Processing.TemplateID, &c.Processing.TemplateVersion,
		&c.Processing.Output, &c.Processing.Error, &c.Processing.ProcessedAt, &st.finalMethod, &st.finalURL, &st.finalHeaders,
		&st.finalBody, &st.r.Attempts, &st.r.SentAt, &st.status, &st.r.Headers, &st.r.Body, &st.latency, &st.respErr)
	if err != nil {
		return nil, err
	}
	c.Final, c.Response = st.stages()
	return &c, nil
}

// GetCancel reads one cancel request with its stages.
func (s *Store) GetCancel(ctx context.Context, id string) (*oi.CancelRequest, error) {
	c, err := scanCancel(s.pool.QueryRow(ctx, `select `+cancelCols+` from order_cancels where id = $1`, id))
	return c, mapErr(err, "cancel")
}

// ListCancels lists an order's cancel requests, oldest first.
func (s *Store) ListCancels(ctx context.Context, orderID string) ([]*oi.CancelRequest, error) {
	rows, _ := s.pool.Query(ctx, `select `+cancelCols+` from order_cancels where order_id = $1 order by requested_at, id`, orderID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.CancelRequest, error) { return scanCancel(r) })
	return out, mapErr(err, "cancels")
}
