package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// NewOrder is the raw request as the workflow records it.
type NewOrder struct {
	ID, CustomerID, PrinterID, WorkflowID, IdempotencyKey, OrderReferenceID string
	ReceivedAt                                                              time.Time
	ContentType                                                             string
	Headers                                                                 map[string][]string
	Body                                                                    []byte
	// CustomersPrinter records the customer's printer when PrinterID is ""
	// (none when the customer does not exist), read in the insert itself.
	CustomersPrinter bool
}

// InsertOrderRequest records the original request. It is idempotent: the
// workflow's retries and replays insert once.
func (s *Store) InsertOrderRequest(ctx context.Context, o NewOrder) error {
	if o.Headers == nil {
		o.Headers = map[string][]string{}
	}
	_, err := s.pool.Exec(ctx, `insert into order_requests (id, customer_id, printer_id, workflow_id, idempotency_key,
		order_reference_id, status, received_at, request_content_type, request_headers, request_body)
		values ($1, $2, coalesce(nullif($3, ''), case when $11 then (select printer_id from customers where id = $2) end),
		$4, $5, $6, 'accepted', $7, $8, $9, $10) on conflict (id) do nothing`,
		o.ID, o.CustomerID, o.PrinterID, o.WorkflowID, o.IdempotencyKey, o.OrderReferenceID, o.ReceivedAt, o.ContentType,
		o.Headers, o.Body, o.CustomersPrinter)
	return mapErr(err, "order")
}

// SetTemplateProcessing records the intake template's output or error.
func (s *Store) SetTemplateProcessing(ctx context.Context, orderID, templateID string, version int, output []byte, renderErr json.RawMessage) error {
	return s.SetTemplateStage(ctx, orderID, templateID, version, output, renderErr, nil)
}

// SetTemplateStage records the intake template's output or error and the
// render's warnings (a JSON array; nil when there were none).
func (s *Store) SetTemplateStage(ctx context.Context, orderID, templateID string, version int, output []byte, renderErr, warnings json.RawMessage) error {
	_, err := s.pool.Exec(ctx, `update order_requests set template_id = nullif($2, ''), template_version = $3, processed_body = $4,
		template_error = $5, template_warnings = $6, processed_at = now(), updated_at = now() where id = $1`,
		orderID, templateID, version, output, renderErr, warnings)
	return mapErr(err, "order")
}

// SetFinalRequest records what goes to the printer (before it is sent).
func (s *Store) SetFinalRequest(ctx context.Context, orderID string, f *oi.FinalRequest) error {
	_, err := s.pool.Exec(ctx, `update order_requests set final_method = $2, final_url = $3, final_headers = $4, final_body = $5,
		updated_at = now() where id = $1`, orderID, f.Method, f.URL, f.Headers, f.Body)
	return mapErr(err, "order")
}

// SetSystemResponse records the printer's answer to one attempt.
func (s *Store) SetSystemResponse(ctx context.Context, orderID string, attempt int, r *oi.SystemResponse) error {
	_, err := s.pool.Exec(ctx, `update order_requests set printer_attempts = greatest(printer_attempts, $2), sent_at = $3,
		response_status = $4, response_headers = $5, response_body = $6, response_latency_ms = $7, response_error = $8,
		response_warnings = $9, updated_at = now() where id = $1`, orderID, attempt, r.SentAt, nullInt(r.Status), r.Headers,
		r.Body, r.LatencyMs, r.Error, nullJSON(r.Warnings))
	return mapErr(err, "order")
}

// SetPrinterOrderID keeps the printer's own id of an order.
func (s *Store) SetPrinterOrderID(ctx context.Context, orderID, printerOrderID string) error {
	_, err := s.pool.Exec(ctx, `update order_requests set printer_order_id = $2, updated_at = now() where id = $1`,
		orderID, printerOrderID)
	return mapErr(err, "order")
}

// ArchiveTry starts submit try number next of an order: the stages of the
// try before it move to order_tries (as they were) and the order's stages
// are cleared for the new try. Repeating it for the same next is a no-op, so
// a retried activity archives once.
func (s *Store) ArchiveTry(ctx context.Context, orderID string, next int) error {
	return mapErr(s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `insert into order_tries (order_id, try, status, status_reason, template_id, template_version,
			processed_body, template_error, template_warnings, processed_at, final_method, final_url, final_headers, final_body,
			printer_attempts, sent_at, response_status, response_headers, response_body, response_latency_ms, response_error,
			response_warnings)
			select id, try, status, status_reason, template_id, template_version, processed_body, template_error,
			template_warnings, processed_at, final_method, final_url, final_headers, final_body, printer_attempts, sent_at,
			response_status, response_headers, response_body, response_latency_ms, response_error, response_warnings
			from order_requests where id = $1 and try = $2 - 1
			on conflict (order_id, try) do nothing`, orderID, next)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `update order_requests set try = $2, status = 'accepted', status_reason = '',
			template_id = null, template_version = null, processed_body = null, template_error = null,
			template_warnings = null, processed_at = null, final_method = null, final_url = null, final_headers = null,
			final_body = null, printer_attempts = 0, sent_at = null, response_status = null, response_headers = null,
			response_body = null, response_latency_ms = null, response_error = null, response_warnings = null,
			printer_order_id = '', updated_at = now() where id = $1`, orderID, next)
		return err
	}), "order")
}

// ListTries lists the earlier submit tries of an order, first try first.
func (s *Store) ListTries(ctx context.Context, orderID string) ([]*oi.SubmitTry, error) {
	rows, _ := s.pool.Query(ctx, `select try, status, status_reason, coalesce(template_id, ''), coalesce(template_version, 0),
		processed_body, template_error, template_warnings, processed_at, final_method, final_url, final_headers, final_body,
		printer_attempts, sent_at, response_status, response_headers, response_body, response_latency_ms, response_error,
		response_warnings, archived_at from order_tries where order_id = $1 order by try`, orderID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*oi.SubmitTry, error) {
		var t oi.SubmitTry
		var st stageScan
		err := row.Scan(&t.Try, &t.Status, &t.StatusReason, &t.Processing.TemplateID, &t.Processing.TemplateVersion,
			&t.Processing.Output, &t.Processing.Error, &t.Processing.Warnings, &t.Processing.ProcessedAt, &st.finalMethod,
			&st.finalURL, &st.finalHeaders, &st.finalBody, &st.r.Attempts, &st.r.SentAt, &st.status, &st.r.Headers, &st.r.Body,
			&st.latency, &st.respErr, &st.r.Warnings, &t.ArchivedAt)
		t.Final, t.Response = st.stages()
		return &t, err
	})
	return out, mapErr(err, "tries")
}

// stageScan collects the nullable columns of the final request and system
// response stages.
type stageScan struct {
	finalMethod, finalURL *string
	finalHeaders          map[string]string
	finalBody             []byte
	status, latency       *int
	respErr               *string
	r                     oi.SystemResponse
}

func (st *stageScan) stages() (*oi.FinalRequest, *oi.SystemResponse) {
	var f *oi.FinalRequest
	if st.finalURL != nil {
		f = &oi.FinalRequest{Method: deref(st.finalMethod), URL: *st.finalURL, Headers: st.finalHeaders, Body: st.finalBody}
	}
	if st.r.Attempts == 0 {
		return f, nil
	}
	r := st.r
	if st.status != nil {
		r.Status = *st.status
	}
	if st.latency != nil {
		r.LatencyMs = *st.latency
	}
	r.Error = deref(st.respErr)
	return f, &r
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SetOrderStatus moves an order to status (with an optional reason).
func (s *Store) SetOrderStatus(ctx context.Context, orderID, status, reason string) error {
	_, err := s.pool.Exec(ctx, `update order_requests set status = $2, status_reason = $3, updated_at = now() where id = $1`,
		orderID, status, reason)
	return mapErr(err, "order")
}

func nullInt(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}

const orderCols = `id, customer_id, coalesce(printer_id, ''), workflow_id, idempotency_key, order_reference_id, status,
	status_reason, received_at, updated_at, request_content_type, request_headers, request_body, coalesce(template_id, ''),
	coalesce(template_version, 0), processed_body, template_error, processed_at, final_method, final_url, final_headers,
	final_body, printer_attempts, sent_at, response_status, response_headers, response_body, response_latency_ms, response_error,
	template_warnings, printer_order_id, try, response_warnings`

func scanOrder(row pgx.Row) (*oi.OrderRequest, error) {
	var o oi.OrderRequest
	var st stageScan
	err := row.Scan(&o.ID, &o.CustomerID, &o.PrinterID, &o.WorkflowID, &o.IdempotencyKey, &o.OrderReferenceID, &o.Status,
		&o.StatusReason, &o.ReceivedAt, &o.UpdatedAt, &o.Original.ContentType, &o.Original.Headers, &o.Original.Body,
		&o.Processing.TemplateID, &o.Processing.TemplateVersion, &o.Processing.Output, &o.Processing.Error,
		&o.Processing.ProcessedAt, &st.finalMethod, &st.finalURL, &st.finalHeaders, &st.finalBody, &st.r.Attempts,
		&st.r.SentAt, &st.status, &st.r.Headers, &st.r.Body, &st.latency, &st.respErr, &o.Processing.Warnings,
		&o.PrinterOrderID, &o.Try, &st.r.Warnings)
	if err != nil {
		return nil, err
	}
	o.Final, o.Response = st.stages()
	return &o, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// GetOrderRequest reads one order with its four stages.
func (s *Store) GetOrderRequest(ctx context.Context, id string) (*oi.OrderRequest, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx, `select `+orderCols+` from order_requests where id = $1`, id))
	return o, mapErr(err, "order")
}

// OrderRoute is what the printer-events route needs to know of an order.
type OrderRoute struct {
	ID, CustomerID, PrinterID, WorkflowID, Status string
}

// GetOrderRoute reads the routing fields of an order.
func (s *Store) GetOrderRoute(ctx context.Context, id string) (*OrderRoute, error) {
	var r OrderRoute
	err := s.pool.QueryRow(ctx, `select id, customer_id, coalesce(printer_id, ''), workflow_id, status from order_requests where id = $1`, id).
		Scan(&r.ID, &r.CustomerID, &r.PrinterID, &r.WorkflowID, &r.Status)
	return &r, mapErr(err, "order")
}

// EventRoute is what a printer's event needs to know before it goes to the
// order's workflow: the order's routing fields and its event count.
type EventRoute struct {
	OrderRoute
	// Events is how many events the order has recorded (accepted or
	// rejected); Known whether the event id asked about is one of them.
	Events int
	Known  bool
}

// GetEventRoute reads the order's routing fields (GetOrderRoute), how many
// events it has recorded and whether eventID is one of them (the per-order
// event cap) in one statement: the printer-events route's one read per event.
func (s *Store) GetEventRoute(ctx context.Context, orderID, eventID string) (*EventRoute, error) {
	var r EventRoute
	err := s.pool.QueryRow(ctx, `select o.id, o.customer_id, coalesce(o.printer_id, ''), o.workflow_id, o.status, e.n, e.known
		from order_requests o cross join lateral (select count(*) as n, coalesce(bool_or(event_id = $2), false) as known
			from order_events where order_id = o.id) e
		where o.id = $1`, orderID, eventID).
		Scan(&r.ID, &r.CustomerID, &r.PrinterID, &r.WorkflowID, &r.Status, &r.Events, &r.Known)
	return &r, mapErr(err, "order")
}

// GetOrderDelayedAfter reads the delayedAfter of an order's customer (0:
// never) in one statement; ENOTFOUND names the order or the customer missing.
func (s *Store) GetOrderDelayedAfter(ctx context.Context, orderID string) (time.Duration, error) {
	var secs *int64
	var customer bool
	err := s.pool.QueryRow(ctx, `select c.id is not null, c.delayed_after_seconds from order_requests o
		left join customers c on c.id = o.customer_id where o.id = $1`, orderID).Scan(&customer, &secs)
	if err != nil {
		return 0, mapErr(err, "order")
	}
	if !customer {
		return 0, oi.Errorf(oi.ENOTFOUND, "customer not found")
	}
	return time.Duration(*secs) * time.Second, nil
}

// ---- events

// InsertOrderEvent records an event; a repeat of (order, event id) is not
// inserted again and the first record is returned with inserted=false.
func (s *Store) InsertOrderEvent(ctx context.Context, e *oi.OrderEvent) (out *oi.OrderEvent, inserted bool, err error) {
	row := s.pool.QueryRow(ctx, `insert into order_events (order_id, event_id, status, source, occurred_at, message,
		tracking_code, tracking_url, carrier_name, accepted, reject_reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		on conflict (order_id, event_id) do nothing returning `+eventCols, e.OrderID, e.EventID, e.Status, e.Source,
		e.OccurredAt, e.Message, e.TrackingCode, e.TrackingURL, e.CarrierName, e.Accepted, e.RejectReason)
	out, err = scanEvent(row)
	if err == pgx.ErrNoRows {
		out, err = scanEvent(s.pool.QueryRow(ctx, `select `+eventCols+` from order_events where order_id = $1 and event_id = $2`,
			e.OrderID, e.EventID))
		return out, false, mapErr(err, "event")
	}
	return out, err == nil, mapErr(err, "event")
}

const eventCols = `id, order_id, event_id, status, source, occurred_at, recorded_at, message, tracking_code, tracking_url,
	carrier_name, accepted, reject_reason`

func scanEvent(row pgx.Row) (*oi.OrderEvent, error) {
	var e oi.OrderEvent
	err := row.Scan(&e.ID, &e.OrderID, &e.EventID, &e.Status, &e.Source, &e.OccurredAt, &e.RecordedAt, &e.Message,
		&e.TrackingCode, &e.TrackingURL, &e.CarrierName, &e.Accepted, &e.RejectReason)
	return &e, err
}

// ListOrderEvents lists an order's events in the order they were recorded.
func (s *Store) ListOrderEvents(ctx context.Context, orderID string) ([]*oi.OrderEvent, error) {
	rows, _ := s.pool.Query(ctx, `select `+eventCols+` from order_events where order_id = $1 order by id`, orderID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.OrderEvent, error) { return scanEvent(r) })
	return out, mapErr(err, "events")
}
