package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// RecordEventWithPostbacks records an event, moves the order to the event's
// status when moveStatus, and stores the event's postbacks, all in one
// round trip and one transaction (a pipelined batch runs in one implicit
// transaction): the order workflow's single write per event. A repeat of
// (order, event id) keeps the first record (inserted is false) and a repeat
// of (event, trigger) keeps the first postback, so a retried call writes
// each once and answers what is stored.
func (s *Store) RecordEventWithPostbacks(ctx context.Context, e *oi.OrderEvent, moveStatus bool, pbs []*oi.Postback) (
	out *oi.OrderEvent, inserted bool, stored []*oi.Postback, err error) {
	b := &pgx.Batch{}
	// "do update" with no change returns the existing row; xmax = 0 only on a fresh insert.
	b.Queue(`insert into order_events (order_id, event_id, status, source, occurred_at, message, tracking_code, tracking_url,
		carrier_name, accepted, reject_reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		on conflict (order_id, event_id) do update set event_id = order_events.event_id
		returning `+eventCols+`, (xmax = 0)`, e.OrderID, e.EventID, e.Status, e.Source, e.OccurredAt, e.Message,
		e.TrackingCode, e.TrackingURL, e.CarrierName, e.Accepted, e.RejectReason).QueryRow(func(row pgx.Row) error {
		var ev oi.OrderEvent
		if err := row.Scan(&ev.ID, &ev.OrderID, &ev.EventID, &ev.Status, &ev.Source, &ev.OccurredAt, &ev.RecordedAt,
			&ev.Message, &ev.TrackingCode, &ev.TrackingURL, &ev.CarrierName, &ev.Accepted, &ev.RejectReason, &inserted); err != nil {
			return err
		}
		out = &ev
		return nil
	})
	if moveStatus {
		b.Queue(`update order_requests set status = $2, status_reason = '', updated_at = now() where id = $1`, e.OrderID, e.Status)
	}
	stored = make([]*oi.Postback, len(pbs))
	for i, p := range pbs {
		b.Queue(`insert into postbacks (id, order_id, order_event_id, event, event_id, trigger_id, customer_id, method,
			destination, format, template_version, subject, body, render_error, retry_on_failure, is_test, status, status_reason)
			values ($1, $2, (select id from order_events where order_id = $2 and event_id = $4), $3, $4, $5, $6, $7, $8, $9,
			nullif($10, 0), $11, $12, $13, $14, $15, $16, $17)
			on conflict (order_id, event_id, trigger_id) do update set id = postbacks.id
			returning `+postbackCols, p.ID, p.OrderID, p.Event, p.EventID, p.TriggerID, p.CustomerID, p.Method, p.Destination,
			p.Format, p.TemplateVersion, p.Subject, p.Body, p.RenderError, p.RetryOnFailure, p.IsTest, p.Status,
			p.StatusReason).QueryRow(func(row pgx.Row) error {
			var err error
			stored[i], err = scanPostback(row)
			return err
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, false, nil, mapErr(err, "event")
	}
	return out, inserted, stored, nil
}
