package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	oi "orderintake"
)

// The reads of the order workflow's stages: each stage's activity reads
// everything it needs in one statement (one round trip), instead of the
// order, then its customer, then its template or printer, then the lookup
// tables, one statement each. A stage runs once per order (per event for
// postbacks), and the configuration rows are read fresh each time, so a
// changed template, trigger or printer counts from the next stage on.

// lookupsJSON is a customer's lookup tables with their rows, as a JSON array
// of oi.LookupTable by name; customerExpr is the customer id's expression.
func lookupsJSON(customerExpr string) string {
	return `(select coalesce(json_agg(json_build_object('id', l.id, 'customerId', l.customer_id, 'name', l.name,
		'default', l.default_value, 'createdAt', l.created_at, 'updatedAt', l.updated_at,
		'rows', coalesce((select json_object_agg(r.key, r.value) from lookup_rows r where r.lookup_id = l.id), '{}'))
		order by l.name), '[]') from lookups l where l.customer_id = ` + customerExpr + `)`
}

// templateJSON is a template at its current version as a JSON oi.Template
// (null when there is no such template): tp is templates, v its current
// template_versions row, both left-joined.
const templateJSON = `case when v.template_id is null then null else json_build_object('id', tp.id, 'name', tp.name,
	'kind', tp.kind, 'format', tp.format, 'version', tp.current_version, 'body', v.body, 'subject', v.subject,
	'createdAt', tp.created_at, 'updatedAt', tp.updated_at, 'strict', v.strict) end`

func decodeLookups(b []byte) ([]*oi.LookupTable, error) {
	var out []*oi.LookupTable
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode lookup tables: %w", err)
	}
	return out, nil
}

// TemplateSources is what rendering an order's intake template reads.
type TemplateSources struct {
	// Order has the fields the intake context reads: ID, CustomerID,
	// ReceivedAt and Original (no stage is loaded).
	Order *oi.OrderRequest
	// Customer has ID, Name, ReferenceID and IntakeTemplateID; nil when the
	// customer does not exist.
	Customer *oi.Customer
	// Template is the customer's intake template at its current version; nil
	// when the customer names none or it does not exist.
	Template *oi.Template
	Lookups  []*oi.LookupTable
}

// GetTemplateSources reads an order's original request, its customer, the
// customer's intake template and lookup tables in one statement. A missing
// order is ENOTFOUND.
func (s *Store) GetTemplateSources(ctx context.Context, orderID string) (*TemplateSources, error) {
	o := &oi.OrderRequest{}
	var custID, custName, custRef, intakeID *string
	var tpl, lookups []byte
	err := s.pool.QueryRow(ctx, `select o.id, o.customer_id, o.received_at, o.request_content_type, o.request_headers,
		o.request_body, c.id, c.name, c.reference_id, c.intake_template_id, `+templateJSON+`, `+lookupsJSON("o.customer_id")+`
		from order_requests o left join customers c on c.id = o.customer_id
		left join templates tp on tp.id = c.intake_template_id
		left join template_versions v on v.template_id = tp.id and v.version = tp.current_version
		where o.id = $1`, orderID).Scan(&o.ID, &o.CustomerID, &o.ReceivedAt, &o.Original.ContentType, &o.Original.Headers,
		&o.Original.Body, &custID, &custName, &custRef, &intakeID, &tpl, &lookups)
	if err != nil {
		return nil, mapErr(err, "order")
	}
	src := &TemplateSources{Order: o}
	if custID != nil {
		src.Customer = &oi.Customer{ID: *custID, Name: deref(custName), ReferenceID: deref(custRef), IntakeTemplateID: deref(intakeID)}
	}
	if tpl != nil {
		if err := json.Unmarshal(tpl, &src.Template); err != nil {
			return nil, fmt.Errorf("decode intake template: %w", err)
		}
	}
	if src.Lookups, err = decodeLookups(lookups); err != nil {
		return nil, err
	}
	return src, nil
}

// PrinterSources is what sending an order to its printer reads.
type PrinterSources struct {
	// Order has ID, CustomerID, PrinterID and Processing.Output (the
	// rendered request); no other stage is loaded.
	Order *oi.OrderRequest
	// CustomerFound is whether the order's customer exists; PrinterID is
	// the order's printer, else its customer's ("" when neither names one).
	CustomerFound bool
	PrinterID     string
	// Printer is nil when PrinterID names no printer.
	Printer *oi.Printer
}

// GetPrinterSources reads an order's rendered request and the printer it
// goes to (the order's own, else its customer's) in one statement. A
// missing order is ENOTFOUND.
func (s *Store) GetPrinterSources(ctx context.Context, orderID string) (*PrinterSources, error) {
	o := &oi.OrderRequest{}
	src := &PrinterSources{Order: o}
	var p struct {
		id, name, url, format, cancelURL, orderIDExpr *string
		headers                                       map[string]string
		timeout                                       *int
		created, updated                              *time.Time
		sealed                                        []byte
	}
	err := s.pool.QueryRow(ctx, `select o.id, o.customer_id, coalesce(o.printer_id, ''), o.processed_body, c.id is not null,
		coalesce(o.printer_id, c.printer_id, ''),
		p.id, p.name, p.url, p.format, p.headers, p.timeout_ms, p.created_at, p.updated_at, p.headers_sealed, p.cancel_url,
		p.order_id_expression
		from order_requests o left join customers c on c.id = o.customer_id
		left join printers p on p.id = coalesce(o.printer_id, c.printer_id)
		where o.id = $1`, orderID).Scan(&o.ID, &o.CustomerID, &o.PrinterID, &o.Processing.Output, &src.CustomerFound,
		&src.PrinterID, &p.id, &p.name, &p.url, &p.format, &p.headers, &p.timeout, &p.created, &p.updated, &p.sealed,
		&p.cancelURL, &p.orderIDExpr)
	if err != nil {
		return nil, mapErr(err, "order")
	}
	if p.id != nil {
		src.Printer = &oi.Printer{ID: *p.id, Name: *p.name, URL: *p.url, Format: *p.format, Headers: p.headers,
			TimeoutMs: *p.timeout, CreatedAt: *p.created, UpdatedAt: *p.updated, HeadersSealed: p.sealed,
			CancelURL: *p.cancelURL, OrderIDExpression: *p.orderIDExpr}
	}
	return src, nil
}

// PostbackSources is what rendering an event's postbacks reads.
type PostbackSources struct {
	// Order has the fields a postback's context reads (PostbackContext): ID,
	// CustomerID, OrderReferenceID, PrinterOrderID, Status, ReceivedAt and
	// Original; no stage is loaded.
	Order *oi.OrderRequest
	// Triggers are the customer's active triggers for the event, oldest
	// first (created_at, id: the order their postbacks are made in), each
	// with its template.
	Triggers []TriggerTemplate
	Lookups  []*oi.LookupTable
}

// TriggerTemplate is a trigger with its template at its current version
// (nil when the template does not exist).
type TriggerTemplate struct {
	Trigger  *oi.Trigger  `json:"trigger"`
	Template *oi.Template `json:"template"`
}

// GetPostbackSources reads an order, the active triggers of its customer for
// event with their templates, and the customer's lookup tables in one
// statement. A missing order is ENOTFOUND.
func (s *Store) GetPostbackSources(ctx context.Context, orderID, event string) (*PostbackSources, error) {
	o := &oi.OrderRequest{}
	var triggers, lookups []byte
	err := s.pool.QueryRow(ctx, `select o.id, o.customer_id, o.order_reference_id, o.printer_order_id, o.status,
		o.received_at, o.request_content_type, o.request_headers, o.request_body,
		(select coalesce(json_agg(json_build_object('trigger', json_build_object('id', t.id, 'customerId', t.customer_id,
			'name', t.name, 'event', t.event, 'method', t.method, 'templateId', t.template_id, 'format', t.format, 'url', t.url,
			'emails', t.emails, 'retryOnFailure', t.retry_on_failure, 'status', t.status, 'disabledReason', t.disabled_reason,
			'createdAt', t.created_at, 'updatedAt', t.updated_at), 'template', `+templateJSON+`) order by t.created_at, t.id), '[]')
			from triggers t left join templates tp on tp.id = t.template_id
			left join template_versions v on v.template_id = tp.id and v.version = tp.current_version
			where t.customer_id = o.customer_id and t.event = $2 and t.status = 'active'),
		`+lookupsJSON("o.customer_id")+`
		from order_requests o where o.id = $1`, orderID, event).Scan(&o.ID, &o.CustomerID, &o.OrderReferenceID,
		&o.PrinterOrderID, &o.Status, &o.ReceivedAt, &o.Original.ContentType, &o.Original.Headers, &o.Original.Body,
		&triggers, &lookups)
	if err != nil {
		return nil, mapErr(err, "order")
	}
	src := &PostbackSources{Order: o}
	if err := json.Unmarshal(triggers, &src.Triggers); err != nil {
		return nil, fmt.Errorf("decode triggers: %w", err)
	}
	if src.Lookups, err = decodeLookups(lookups); err != nil {
		return nil, err
	}
	return src, nil
}
