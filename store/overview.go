package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// The HQ overview (/hq/): what the orders and postbacks of a time window
// say at a glance, over all customers or one. Every query reads a bounded
// slice of the history through the covering indexes of migration 010, and
// `bench history` times each of them on a million orders (internal/bench,
// overview.go).

// OverviewFilter is the window [From, To) and, optionally, one customer.
type OverviewFilter struct {
	From, To   time.Time
	CustomerID string
}

func (f OverviewFilter) check() error {
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return &oi.Error{Code: oi.EINVALID, Field: "from", Message: "the overview window needs from < to"}
	}
	if f.To.Sub(f.From) > 31*24*time.Hour {
		return &oi.Error{Code: oi.EINVALID, Field: "from", Message: "the overview window is at most 31 days"}
	}
	return nil
}

// where is the window (and customer) condition over orders (received_at)
// and postbacks (created_at), with its arguments. The customer condition is
// left out rather than made optional in SQL ("$3 = ” or …"), so that a
// prepared statement's generic plan still uses the customer's index.
func (f OverviewFilter) where() (orders, postbacks string, args []any) {
	if f.CustomerID == "" {
		return "received_at >= $1 and received_at < $2", "created_at >= $1 and created_at < $2", []any{f.From, f.To}
	}
	return "customer_id = $3 and received_at >= $1 and received_at < $2",
		"customer_id = $3 and created_at >= $1 and created_at < $2", []any{f.From, f.To, f.CustomerID}
}

// HourCount is how many orders of one status arrived in one hour.
type HourCount struct {
	Hour   time.Time `json:"hour"`
	Status string    `json:"status"`
	Count  int       `json:"count"`
}

// OrdersPerHour counts the window's orders by hour of arrival and current
// status (rejected requests included: they are what a client saw fail).
func (s *Store) OrdersPerHour(ctx context.Context, f OverviewFilter) ([]HourCount, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	cond, _, args := f.where()
	rows, err := s.pool.Query(ctx, `select date_trunc('hour', received_at) as h, status, count(*)
		from order_requests
		where `+cond+`
		group by 1, 2 order by 1, 2`, args...)
	if err != nil {
		return nil, mapErr(err, "orders per hour")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HourCount, error) {
		var c HourCount
		err := r.Scan(&c.Hour, &c.Status, &c.Count)
		c.Hour = c.Hour.UTC()
		return c, err
	})
	return out, mapErr(err, "orders per hour")
}

// PostbackStats sums the window's postbacks (test postbacks excluded).
type PostbackStats struct {
	Total     int `json:"total"`
	Delivered int `json:"delivered"`
	Pending   int `json:"pending"`
	Failed    int `json:"failed"` // failed, exhausted or aborted
	// Retried counts postbacks that needed more than one attempt; Retries
	// the attempts beyond the first, summed.
	Retried int `json:"retried"`
	Retries int `json:"retries"`
}

// SuccessRate is delivered / (delivered + failed): pending ones have not
// ended yet. ok is false when none has ended.
func (p PostbackStats) SuccessRate() (rate float64, ok bool) {
	if d := p.Delivered + p.Failed; d > 0 {
		return float64(p.Delivered) / float64(d), true
	}
	return 0, false
}

// PostbackStats counts the window's postbacks by outcome and their retries.
func (s *Store) PostbackStats(ctx context.Context, f OverviewFilter) (PostbackStats, error) {
	var p PostbackStats
	if err := f.check(); err != nil {
		return p, err
	}
	_, pcond, args := f.where()
	err := s.pool.QueryRow(ctx, `select count(*),
			count(*) filter (where status = 'delivered'),
			count(*) filter (where status = 'pending'),
			count(*) filter (where status in ('failed', 'exhausted', 'aborted')),
			count(*) filter (where attempts > 1),
			coalesce(sum(greatest(attempts - 1, 0)), 0)
		from postbacks
		where not is_test and `+pcond,
		args...).Scan(&p.Total, &p.Delivered, &p.Pending, &p.Failed, &p.Retried, &p.Retries)
	return p, mapErr(err, "postback stats")
}

// Latency is a p50/p95 pair in milliseconds over N samples (N = 0: none).
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50Ms"`
	P95 float64 `json:"p95Ms"`
}

// Latencies are the two the overview shows: intake → the printer's answer
// (orders received in the window that reached the printer), and event →
// postback delivered (postbacks created in the window and delivered).
type Latencies struct {
	IntakeToPrinter Latency `json:"intakeToPrinter"`
	EventToPostback Latency `json:"eventToPostback"`
}

// Latencies computes both percentiles in SQL (percentile_cont), so no
// sample leaves the database.
func (s *Store) Latencies(ctx context.Context, f OverviewFilter) (Latencies, error) {
	var l Latencies
	if err := f.check(); err != nil {
		return l, err
	}
	cond, pcond, args := f.where()
	scan := func(what, q string, dst *Latency) error {
		var p50, p95 *float64
		if err := s.pool.QueryRow(ctx, q, args...).Scan(&dst.N, &p50, &p95); err != nil {
			return mapErr(err, what)
		}
		if p50 != nil && p95 != nil {
			dst.P50, dst.P95 = *p50, *p95
		}
		return nil
	}
	if err := scan("intake latency", `select count(*),
			percentile_cont(0.5) within group (order by ms), percentile_cont(0.95) within group (order by ms)
		from (select extract(epoch from (sent_at - received_at)) * 1000 + coalesce(response_latency_ms, 0) as ms
			from order_requests
			where `+cond+` and sent_at is not null) x`,
		&l.IntakeToPrinter); err != nil {
		return l, err
	}
	err := scan("postback latency", `select count(*),
			percentile_cont(0.5) within group (order by ms), percentile_cont(0.95) within group (order by ms)
		from (select extract(epoch from (updated_at - created_at)) * 1000 as ms
			from postbacks
			where not is_test and `+pcond+`
				and status = 'delivered') x`, &l.EventToPostback)
	return l, err
}

// failingWindow is how many of the latest postbacks (or orders) the
// "failing now" queries look at: a run of failures longer than this shows
// as this many.
const failingWindow = 20

// failingSubjects are the triggers and printers the alerting keeps as
// failing (a streak of failures, or an open incident): the only ones whose
// history "failing now" reads, so its cost follows what fails, not how many
// triggers and printers there are.
const failingSubjects = `with failing_subjects as (
		select subject_kind, subject_id from alert_streaks where failures > 0
		union select subject_kind, subject_id from alert_incidents where recovered_at is null)
	`

// FailingTrigger is a trigger whose latest postbacks failed in a row, or
// that is disabled (a 410 disables it).
type FailingTrigger struct {
	ID, Name, Event, Status, DisabledReason string
	CustomerID, CustomerName                string
	// Consecutive failed postbacks, newest first, up to the last delivered
	// one (at most failingWindow); Exhausted is true when the newest one
	// ran out of retries.
	Consecutive int
	Exhausted   bool
	LastReason  string
	LastAt      *time.Time
}

// FailingTriggers lists the triggers failing now: disabled ones with a
// reason, and the ones the alerting counts as failing whose latest
// postbacks failed in a row (failed, exhausted or aborted, or pending after
// a failed attempt), most failures first.
func (s *Store) FailingTriggers(ctx context.Context, customerID string) ([]FailingTrigger, error) {
	rows, err := s.pool.Query(ctx, failingSubjects+`select t.id, t.name, t.event, t.status, t.disabled_reason, t.customer_id, c.name,
			coalesce(r.n, 0), coalesce(r.exhausted, false), coalesce(r.reason, ''), r.last_at
		from triggers t join customers c on c.id = t.customer_id
		left join lateral (
			select count(*) as n, bool_or(p.rn = 1 and p.status = 'exhausted') as exhausted,
				max(p.status_reason) filter (where p.rn = 1) as reason, max(p.created_at) as last_at
			from (select l.*, min(case when l.status = 'delivered' then l.rn end) over () as first_ok
				from (select k.*, row_number() over (order by k.created_at desc, k.id desc) as rn
					from (select id, status, status_reason, created_at, attempts
						from postbacks where trigger_id = t.id and not is_test
						order by created_at desc, id desc limit $2) k) l) p
			where p.rn < coalesce(p.first_ok, $2 + 1)
				and (p.status in ('failed', 'exhausted', 'aborted') or (p.status = 'pending' and p.attempts > 0))
		) r on true
		where ($1 = '' or t.customer_id = $1)
			and ((t.status = 'disabled' and t.disabled_reason <> '') or t.id in (select subject_id from failing_subjects where subject_kind = 'trigger'))
			and ((t.status = 'disabled' and t.disabled_reason <> '') or coalesce(r.n, 0) > 0)
		order by (t.status = 'disabled') desc, coalesce(r.n, 0) desc, t.id`, customerID, failingWindow)
	if err != nil {
		return nil, mapErr(err, "failing triggers")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailingTrigger, error) {
		var t FailingTrigger
		err := r.Scan(&t.ID, &t.Name, &t.Event, &t.Status, &t.DisabledReason, &t.CustomerID, &t.CustomerName,
			&t.Consecutive, &t.Exhausted, &t.LastReason, &t.LastAt)
		return t, err
	})
	return out, mapErr(err, "failing triggers")
}

// FailingPrinter is a printer whose latest answers were errors in a row.
type FailingPrinter struct {
	ID, Name    string
	Consecutive int
	LastStatus  *int
	LastError   string
	LastAt      *time.Time
}

// FailingPrinters lists the printers the alerting counts as failing whose
// latest orders (of one customer, when given) got an error from them in a row: an answer that is not 2xx, or
// none (response_error), most failures first.
func (s *Store) FailingPrinters(ctx context.Context, customerID string) ([]FailingPrinter, error) {
	rows, err := s.pool.Query(ctx, failingSubjects+`select pr.id, pr.name, r.n, r.status, coalesce(r.err, ''), r.last_at
		from printers pr
		join failing_subjects f on f.subject_kind = 'printer' and f.subject_id = pr.id
		join lateral (
			select count(*) as n, max(o.response_status) filter (where o.rn = 1) as status,
				max(o.response_error) filter (where o.rn = 1) as err, max(o.sent_at) as last_at
			from (select l.*, min(case when not l.bad then l.rn end) over () as first_ok
				from (select k.*, row_number() over (order by k.received_at desc, k.id desc) as rn,
						(k.response_error is not null or k.response_status is null or k.response_status not between 200 and 299) as bad
					from (select id, received_at, response_status, response_error, sent_at
						from order_requests
						where printer_id = pr.id and ($1 = '' or customer_id = $1) and sent_at is not null
						order by received_at desc, id desc limit $2) k) l) o
			where o.bad and o.rn < coalesce(o.first_ok, $2 + 1)
		) r on r.n > 0
		order by r.n desc, pr.id`, customerID, failingWindow)
	if err != nil {
		return nil, mapErr(err, "failing printers")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailingPrinter, error) {
		var p FailingPrinter
		err := r.Scan(&p.ID, &p.Name, &p.Consecutive, &p.LastStatus, &p.LastError, &p.LastAt)
		return p, err
	})
	return out, mapErr(err, "failing printers")
}

// CustomerSummary is one customer's line of the overview table.
type CustomerSummary struct {
	CustomerID, CustomerName string
	Orders, Failed           int
	Rejected                 int
}

// FailureRate is failed / orders (0 when there are none).
func (c CustomerSummary) FailureRate() float64 {
	if c.Orders == 0 {
		return 0
	}
	return float64(c.Failed) / float64(c.Orders)
}

// CustomerSummaries counts the window's orders per customer, busiest first.
func (s *Store) CustomerSummaries(ctx context.Context, f OverviewFilter) ([]CustomerSummary, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	cond, _, args := f.where()
	rows, err := s.pool.Query(ctx, `select o.customer_id, coalesce(c.name, o.customer_id), o.n, o.failed, o.rejected
		from (select customer_id, count(*) as n, count(*) filter (where status = 'failed') as failed,
				count(*) filter (where status = 'rejected') as rejected
			from order_requests
			where `+cond+`
			group by customer_id) o
		left join customers c on c.id = o.customer_id
		order by o.n desc, o.customer_id`, args...)
	if err != nil {
		return nil, mapErr(err, "customer summaries")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CustomerSummary, error) {
		var c CustomerSummary
		err := r.Scan(&c.CustomerID, &c.CustomerName, &c.Orders, &c.Failed, &c.Rejected)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("customer summaries: %w", mapErr(err, "customer summaries"))
	}
	return out, nil
}
