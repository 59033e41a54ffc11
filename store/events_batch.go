package store

import (
	"context"
	"time"

	oi "orderintake"
)

// RecordEventWithPostbacks records an event, moves the order to the event's
// status when moveStatus, and stores the event's postbacks, all in one
// statement (one round trip, one transaction): the order workflow's single
// write per event. A repeat of (order, event id) keeps the first record
// (inserted is false) and a repeat of (event, trigger) keeps the first
// postback, so a retried call writes each once and answers what is stored.
// Every postback must be of e (its order, event id and status).
func (s *Store) RecordEventWithPostbacks(ctx context.Context, e *oi.OrderEvent, moveStatus bool, pbs []*oi.Postback) (
	out *oi.OrderEvent, inserted bool, stored []*oi.Postback, err error) {
	n := len(pbs)
	var (
		ids, triggers, customers, methods = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		dests, formats, subjects          = make([]string, n), make([]string, n), make([]string, n)
		statuses, reasons                 = make([]string, n), make([]string, n)
		versions                          = make([]int32, n)
		bodies                            = make([][]byte, n)
		renderErrs                        = make([]*string, n)
		retry, test                       = make([]bool, n), make([]bool, n)
	)
	for i, p := range pbs {
		if p.OrderID != e.OrderID || p.EventID != e.EventID || p.Event != e.Status {
			return nil, false, nil, oi.Errorf(oi.EINVALID, "postback %s is not of event %s of order %s", p.ID, e.EventID, e.OrderID)
		}
		ids[i], triggers[i], customers[i], methods[i] = p.ID, p.TriggerID, p.CustomerID, p.Method
		dests[i], formats[i], subjects[i], statuses[i], reasons[i] = p.Destination, p.Format, p.Subject, p.Status, p.StatusReason
		versions[i], bodies[i], retry[i], test[i] = int32(p.TemplateVersion), p.Body, p.RetryOnFailure, p.IsTest
		if len(p.RenderError) > 0 {
			re := string(p.RenderError)
			renderErrs[i] = &re
		}
	}
	// "do update" with no change returns the existing row (xmax = 0 only on
	// a fresh insert); the postbacks take the event's id from ev, since a
	// row inserted by the same statement is not visible to a subquery.
	rows, err := s.pool.Query(ctx, `with ev as (
			insert into order_events (order_id, event_id, status, source, occurred_at, message, tracking_code, tracking_url,
				carrier_name, accepted, reject_reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			on conflict (order_id, event_id) do update set event_id = order_events.event_id
			returning `+eventCols+`, (xmax = 0) as inserted),
		moved as (update order_requests set status = $3, status_reason = '', updated_at = now() where id = $1 and $12),
		pb as (
			insert into postbacks (id, order_id, order_event_id, event, event_id, trigger_id, customer_id, method, destination,
				format, template_version, subject, body, render_error, retry_on_failure, is_test, status, status_reason)
			select u.id, $1, ev.id, $3, $2, u.trigger_id, u.customer_id, u.method, u.destination, u.format,
				nullif(u.template_version, 0), u.subject, u.body, u.render_error::jsonb, u.retry, u.test, u.status, u.reason
			from ev, unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::int[],
				$20::text[], $21::bytea[], $22::text[], $23::bool[], $24::bool[], $25::text[], $26::text[])
				as u(id, trigger_id, customer_id, method, destination, format, template_version, subject, body, render_error,
				retry, test, status, reason)
			on conflict (order_id, event_id, trigger_id) do update set id = postbacks.id
			returning id as pb_id, coalesce(order_id, '') as pb_order_id, event as pb_event, event_id as pb_event_id,
				trigger_id, customer_id, method, destination, format, coalesce(template_version, 0) as template_version, subject,
				body, render_error, retry_on_failure, is_test, status as pb_status, status_reason, attempts,
				created_at, updated_at, next_attempt_at)
		select ev.*, pb.* from ev left join pb on true`,
		e.OrderID, e.EventID, e.Status, e.Source, e.OccurredAt, e.Message, e.TrackingCode, e.TrackingURL, e.CarrierName,
		e.Accepted, e.RejectReason, moveStatus,
		ids, triggers, customers, methods, dests, formats, versions, subjects, bodies, renderErrs, retry, test, statuses, reasons)
	if err != nil {
		return nil, false, nil, mapErr(err, "event")
	}
	defer rows.Close()
	byTrigger := make(map[string]*oi.Postback, n)
	for rows.Next() {
		var ev oi.OrderEvent
		var p struct {
			id, orderID, event, eventID, triggerID, customerID, method, dest, format, subject, status, reason *string
			version, attempts                                                                                 *int
			body, renderErr                                                                                   []byte
			retry, test                                                                                       *bool
			created, updated, next                                                                            *time.Time
		}
		if err := rows.Scan(&ev.ID, &ev.OrderID, &ev.EventID, &ev.Status, &ev.Source, &ev.OccurredAt, &ev.RecordedAt,
			&ev.Message, &ev.TrackingCode, &ev.TrackingURL, &ev.CarrierName, &ev.Accepted, &ev.RejectReason, &inserted,
			&p.id, &p.orderID, &p.event, &p.eventID, &p.triggerID, &p.customerID, &p.method, &p.dest, &p.format, &p.version,
			&p.subject, &p.body, &p.renderErr, &p.retry, &p.test, &p.status, &p.reason, &p.attempts, &p.created, &p.updated,
			&p.next); err != nil {
			return nil, false, nil, mapErr(err, "event")
		}
		out = &ev
		if p.id != nil {
			byTrigger[*p.triggerID] = &oi.Postback{ID: *p.id, OrderID: *p.orderID, Event: *p.event, EventID: *p.eventID,
				TriggerID: *p.triggerID, CustomerID: *p.customerID, Method: *p.method, Destination: *p.dest, Format: *p.format,
				TemplateVersion: *p.version, Subject: *p.subject, Body: p.body, RenderError: p.renderErr,
				RetryOnFailure: *p.retry, IsTest: *p.test, Status: *p.status, StatusReason: *p.reason, Attempts: *p.attempts,
				CreatedAt: *p.created, UpdatedAt: *p.updated, NextAttemptAt: p.next}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, nil, mapErr(err, "event")
	}
	if out == nil {
		return nil, false, nil, oi.Errorf(oi.ENOTFOUND, "event not recorded")
	}
	// Answered in the order asked (RETURNING keeps no order).
	stored = make([]*oi.Postback, n)
	for i, p := range pbs {
		if stored[i] = byTrigger[p.TriggerID]; stored[i] == nil {
			return nil, false, nil, oi.Errorf(oi.ECONFLICT, "postback of trigger %s not stored", p.TriggerID)
		}
	}
	return out, inserted, stored, nil
}
