package bench

import (
	"context"
	"fmt"
	"time"

	oi "orderintake"
	"orderintake/store"
	"orderintake/store/storebench"
)

// SyntheticHistory describes a synthetic order history for `orderintake
// bench history`: Orders order requests spread evenly over Days days up to
// End, over Customers customers (skewed: the first ones are the biggest),
// each order with PostbacksPerOrder postbacks.
type SyntheticHistory struct {
	Orders, PostbacksPerOrder, Customers, Days int
	End                                        time.Time
	// Batch is how many orders one statement inserts (progress granularity).
	Batch int
}

// Synthetic ids are derived from the order's number g, so the bench can name
// any row without reading it: see SyntheticOrderID and SyntheticPostbackID.
const (
	synPrinter  = "prn_syn"
	synIntake   = "tpl_syn_intake"
	synHook     = "tpl_syn_hook"
	synCustomer = "cus_syn_"
)

// SyntheticEvents are the events of a synthetic order's postbacks, in order.
var SyntheticEvents = []string{oi.EventReceived, oi.EventShipped, oi.EventDelivered, oi.EventInProduction, oi.EventInTransit}

// SyntheticCustomerID names synthetic customer i.
func SyntheticCustomerID(i int) string { return fmt.Sprintf("%s%03d", synCustomer, i) }

// SyntheticTriggerID names the trigger of customer i for event.
func SyntheticTriggerID(i int, event string) string { return fmt.Sprintf("trg_syn_%03d_%s", i, event) }

// The per-order expressions, shared by the orders and postbacks statements
// so both derive the same customer, time and id from g. Parameters: $3
// orders, $4 end, $5 days, $6 customers.
const (
	synCustIdx = `(floor(power(((hashint8(g) & 2147483647) % 1000000) / 1000000.0, 2) * $6::int))::int`
	synAt      = `($4::timestamptz - make_interval(secs => ($3::bigint - g)::float8 * $5::int * 86400 / $3::bigint))`
	synOrderID = `('ord_syn_' || substr(md5(g::text), 1, 22))`
)

// loadSyntheticHistory inserts the configuration a synthetic history refers
// to (a printer, templates, customers, a trigger per customer and event)
// and then the orders and postbacks, a batch per statement with INSERT …
// SELECT generate_series (no row-by-row round trips). progress is called
// after each batch. It returns the rows inserted, and ends with VACUUM
// ANALYZE so the planner and index-only scans see the new rows.
func loadSyntheticHistory(ctx context.Context, st *store.Store, db *storebench.DB, h SyntheticHistory, progress func(orders, postbacks int64)) (orders, postbacks int64, err error) {
	if h.Orders <= 0 || h.Customers <= 0 || h.Days <= 0 || h.PostbacksPerOrder < 0 || h.PostbacksPerOrder > len(SyntheticEvents) {
		return 0, 0, fmt.Errorf("synthetic history: orders, customers and days must be positive, postbacks per order 0..%d", len(SyntheticEvents))
	}
	if h.Batch <= 0 {
		h.Batch = 50000
	}
	if err := seedSynthetic(ctx, st, db, h); err != nil {
		return 0, 0, err
	}
	args := func(lo, hi int) []any { return []any{lo, hi, h.Orders, h.End, h.Days, h.Customers} }
	ordersSQL := `insert into order_requests (id, customer_id, printer_id, workflow_id, idempotency_key, order_reference_id,
		status, status_reason, received_at, updated_at, request_content_type, request_headers, request_body, template_id,
		template_version, processed_body, processed_at, final_method, final_url, final_headers, final_body, printer_attempts,
		sent_at, response_status, response_headers, response_body, response_latency_ms, response_error)
	select o.id, o.cust, '` + synPrinter + `', 'order/' || o.cust || '/' || o.ref, o.ref, o.ref,
		o.status, case when o.status = 'failed' then 'printer did not take the order: printer answered 400' else '' end,
		o.at, o.at + interval '1 day', 'application/json', '{"content-type": ["application/json"]}',
		convert_to('{"orderReferenceId": "' || o.ref || '", "items": [{"sku": "POSTER-A3", "quantity": 2}]}', 'UTF8'),
		'` + synIntake + `', 1, convert_to('{"externalId": "' || o.ref || '", "lines": [{"sku": "POSTER-A3", "copies": 2}]}', 'UTF8'),
		o.at + interval '15 milliseconds', 'POST', 'https://printer.example/orders', '{"Content-Type": "application/json"}',
		convert_to('{"externalId": "' || o.ref || '"}', 'UTF8'), 1, o.at + interval '20 milliseconds',
		case when o.status = 'failed' then 400 else 201 end, '{"Content-Type": ["application/json"]}',
		convert_to('{"status": "accepted"}', 'UTF8'), 35, case when o.status = 'failed' then 'printer answered 400' end
	from (select ` + synOrderID + ` as id, c.cust, 'REF-' || g as ref, t.at,
			case when p < 20 then 'failed' when p < 25 then 'canceled' when p < 30 then 'returned'
				when t.at < $4::timestamptz - interval '10 days' or p >= 600 then 'delivered'
				when p < 300 then 'shipped' when p < 450 then 'in_production' when p < 550 then 'received'
				else 'in_transit' end as status
		from generate_series($1::bigint, $2::bigint) g,
			lateral (select '` + synCustomer + `' || lpad(` + synCustIdx + `::text, 3, '0') as cust) c,
			lateral (select ` + synAt + ` as at) t,
			lateral (select ((hashint8(g + 7777777) & 2147483647) % 1000)::int as p) r) o`
	postbacksSQL := `insert into postbacks (id, order_id, event, event_id, trigger_id, customer_id, method, destination, format,
		template_version, body, retry_on_failure, status, status_reason, attempts, created_at, updated_at, next_attempt_at)
	select 'pb_syn_' || substr(md5(g::text || '/' || k), 1, 22), ` + synOrderID + `, e.event, k || '-' || e.event,
		'trg_syn_' || lpad(c.idx::text, 3, '0') || '_' || e.event, '` + synCustomer + `' || lpad(c.idx::text, 3, '0'), 'url',
		'https://hooks.example.com/' || c.idx, 'json', 1,
		convert_to('{"event": "' || e.event || '", "orderReferenceId": "REF-' || g || '"}', 'UTF8'), true,
		st.status, case when st.status in ('failed', 'exhausted') then 'receiver answered 500' else '' end,
		case when st.status = 'delivered' then 1 when st.status = 'pending' then 2 else 10 end,
		t.at + (k - 1) * interval '8 hours' + interval '50 milliseconds',
		t.at + (k - 1) * interval '8 hours' + interval '60 milliseconds',
		case when st.status = 'pending' then t.at + (k - 1) * interval '8 hours' + interval '5 minutes' end
	from generate_series($1::bigint, $2::bigint) g
		cross join generate_series(1, $7::int) k,
		lateral (select ` + synCustIdx + ` as idx) c,
		lateral (select ` + synAt + ` as at) t,
		lateral (select (array['received', 'shipped', 'delivered', 'in_production', 'in_transit'])[k] as event) e,
		lateral (select case when q < 10 then 'failed' when q < 15 then 'exhausted' when q < 25 then 'pending'
			else 'delivered' end as status
			from (select ((hashint8(g * 8 + k) & 2147483647) % 1000)::int as q) x) st`
	for lo := 1; lo <= h.Orders; lo += h.Batch {
		hi := min(lo+h.Batch-1, h.Orders)
		n, err := db.Exec(ctx, ordersSQL, args(lo, hi)...)
		if err != nil {
			return orders, postbacks, fmt.Errorf("synthetic orders %d-%d: %w", lo, hi, err)
		}
		orders += n
		if h.PostbacksPerOrder > 0 {
			n, err = db.Exec(ctx, postbacksSQL, append(args(lo, hi), h.PostbacksPerOrder)...)
			if err != nil {
				return orders, postbacks, fmt.Errorf("synthetic postbacks of orders %d-%d: %w", lo, hi, err)
			}
			postbacks += n
		}
		if progress != nil {
			progress(orders, postbacks)
		}
	}
	if _, err := db.Exec(ctx, `vacuum (analyze) order_requests, postbacks`); err != nil {
		return orders, postbacks, fmt.Errorf("synthetic history: vacuum analyze: %w", err)
	}
	// Write the loaded gigabytes out now, so the checkpoint does not land in
	// the middle of the timings. It needs a superuser (or pg_checkpoint):
	// without one, the timings just start earlier.
	_, _ = db.Exec(ctx, `checkpoint`)
	return orders, postbacks, nil
}

// seedSynthetic creates what synthetic rows refer to.
func seedSynthetic(ctx context.Context, st *store.Store, db *storebench.DB, h SyntheticHistory) error {
	if _, err := st.CreatePrinter(ctx, &oi.Printer{ID: synPrinter, Name: "Synthetic printer", URL: "https://printer.example/orders",
		Format: oi.FormatJSON, TimeoutMs: 10000}); err != nil {
		return fmt.Errorf("synthetic history: %w", err)
	}
	for _, t := range []*oi.Template{
		{ID: synIntake, Name: "Synthetic intake", Kind: oi.KindIntake, Format: oi.FormatJSON, Body: `{"externalId": "{{ orderReferenceId }}"}`},
		{ID: synHook, Name: "Synthetic webhook", Kind: oi.KindWebhook, Format: oi.FormatJSON, Body: `{"event": "{{ event }}"}`},
	} {
		if _, err := st.CreateTemplate(ctx, t); err != nil {
			return fmt.Errorf("synthetic history: %w", err)
		}
	}
	_, err := db.Exec(ctx, `insert into customers (id, name, reference_id, printer_id, intake_template_id)
		select '`+synCustomer+`' || lpad(i::text, 3, '0'), 'Synthetic shop ' || i, 'syn-' || i, $2, $3
		from generate_series(0, $1::int - 1) i`, h.Customers, synPrinter, synIntake)
	if err != nil {
		return fmt.Errorf("synthetic customers: %w", err)
	}
	_, err = db.Exec(ctx, `insert into triggers (id, customer_id, name, event, method, template_id, format, url, status)
		select 'trg_syn_' || lpad(i::text, 3, '0') || '_' || e, '`+synCustomer+`' || lpad(i::text, 3, '0'), e || ' webhook', e,
			'url', $2, 'json', 'https://hooks.example.com/' || i, 'active'
		from generate_series(0, $1::int - 1) i, unnest($3::text[]) e`, h.Customers, synHook, SyntheticEvents)
	if err != nil {
		return fmt.Errorf("synthetic triggers: %w", err)
	}
	return nil
}

// hasSyntheticHistory reports how many synthetic orders and postbacks the
// database holds (a second `bench history --reuse` skips the load).
func hasSyntheticHistory(ctx context.Context, db *storebench.DB) (orders, postbacks int64, err error) {
	err = db.Scan(ctx, `select (select count(*) from order_requests where id like 'ord\_syn\_%'),
		(select count(*) from postbacks where id like 'pb\_syn\_%')`, nil, &orders, &postbacks)
	if err != nil {
		return 0, 0, fmt.Errorf("bench history: count synthetic rows: %w", err)
	}
	return orders, postbacks, nil
}

// countOrders counts all order requests (a bench refuses to load synthetic
// rows into a database that holds real ones).
func countOrders(ctx context.Context, db *storebench.DB) (int64, error) {
	var n int64
	if err := db.Scan(ctx, `select count(*) from order_requests`, nil, &n); err != nil {
		return 0, fmt.Errorf("bench history: count orders: %w", err)
	}
	return n, nil
}
