package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"orderintake/internal/pgtest"
)

// overviewFixture writes orders and postbacks with known times and
// outcomes straight into the tables (the overview reads what the journey
// wrote; how it got there is the journey's tests' business).
type overviewFixture struct {
	st  *Store
	now time.Time
	n   int
}

func newOverviewFixture(t *testing.T) *overviewFixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	if err := Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	f := &overviewFixture{st: st, now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	f.exec(t, `insert into printers (id, name, url) values ('prn_a', 'Printer A', 'https://p.example'), ('prn_b', 'Printer B', 'https://q.example')`)
	f.exec(t, `insert into templates (id, name, kind, format) values ('tpl_h', 'hook', 'webhook', 'json')`)
	f.exec(t, `insert into customers (id, name, reference_id, printer_id) values ('cus_a', 'Shop A', 'a', 'prn_a'), ('cus_b', 'Shop B', 'b', 'prn_b')`)
	f.exec(t, `insert into triggers (id, customer_id, name, event, method, template_id, status, disabled_reason) values
		('trg_fail', 'cus_a', 'shipped hook', 'shipped', 'url', 'tpl_h', 'active', ''),
		('trg_ok', 'cus_a', 'delivered hook', 'delivered', 'url', 'tpl_h', 'active', ''),
		('trg_gone', 'cus_b', 'gone hook', 'shipped', 'url', 'tpl_h', 'disabled', 'receiver answered 410 Gone to postback pb_x')`)
	return f
}

func (f *overviewFixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.st.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// order adds an order received ago before now; sentMs > 0: it reached the
// printer that long after intake, which answered code.
func (f *overviewFixture) order(t *testing.T, cust, printer, status string, ago time.Duration, sentMs, latencyMs, code int) string {
	f.n++
	id := fmt.Sprintf("ord_%03d", f.n)
	at := f.now.Add(-ago)
	var sent *time.Time
	var resp, lat *int
	if sentMs > 0 {
		s := at.Add(time.Duration(sentMs) * time.Millisecond)
		sent, resp, lat = &s, &code, &latencyMs
	}
	f.exec(t, `insert into order_requests (id, customer_id, printer_id, workflow_id, idempotency_key, status, received_at, request_body,
		sent_at, response_status, response_latency_ms) values ($1, $2, $3, 'wf', $1, $4, $5, '\x7b7d', $6, $7, $8)`,
		id, cust, printer, status, at, sent, resp, lat)
	return id
}

func (f *overviewFixture) postback(t *testing.T, order, trigger, cust, status string, ago time.Duration, attempts, tookMs int) {
	f.n++
	at := f.now.Add(-ago)
	f.exec(t, `insert into postbacks (id, order_id, event, event_id, trigger_id, customer_id, method, destination, format,
		retry_on_failure, status, status_reason, attempts, created_at, updated_at)
		values ($1, $2, 'shipped', $1, $3, $4, 'url', 'https://h.example', 'json', true, $5, $6, $7, $8, $9)`,
		fmt.Sprintf("pb_%03d", f.n), order, trigger, cust, status, "reason "+status, attempts, at, at.Add(time.Duration(tookMs)*time.Millisecond))
}

func TestOverviewQueries(t *testing.T) {
	ctx := context.Background()
	f := newOverviewFixture(t)
	h := time.Hour
	// Shop A, last 24 h: 3 delivered, 1 failed (printer 500) at 2-4 h ago;
	// 1 failed 30 h ago (in 7 days only). Shop B: 2 shipped 1 h ago.
	a1 := f.order(t, "cus_a", "prn_a", "delivered", 4*h+10*time.Minute, 100, 50, 201)
	f.order(t, "cus_a", "prn_a", "delivered", 4*h, 200, 50, 201)
	f.order(t, "cus_a", "prn_a", "delivered", 3*h, 300, 50, 201)
	f.order(t, "cus_a", "prn_a", "failed", 2*h, 400, 50, 500)
	f.order(t, "cus_a", "prn_a", "failed", 30*h, 1000, 50, 500)
	f.order(t, "cus_b", "prn_b", "shipped", h, 10, 5, 201)
	f.order(t, "cus_b", "prn_b", "shipped", h+time.Minute, 10, 5, 201)
	f.order(t, "cus_b", "", "rejected", h, 0, 0, 0) // never reached a printer

	// trg_fail: delivered, then 3 failures, the newest exhausted; a test postback is ignored.
	f.postback(t, a1, "trg_fail", "cus_a", "delivered", 5*h, 1, 40)
	f.postback(t, a1, "trg_fail", "cus_a", "failed", 4*h, 1, 0)
	f.postback(t, a1, "trg_fail", "cus_a", "pending", 3*h, 2, 0)
	f.postback(t, a1, "trg_fail", "cus_a", "exhausted", 2*h, 10, 0)
	f.exec(t, `insert into postbacks (id, order_id, event, event_id, trigger_id, customer_id, method, destination, format,
		retry_on_failure, status, attempts, is_test, created_at) values ('pb_test', null, 'shipped', 'e', 'trg_fail', 'cus_a', 'url', 'x', 'json',
		true, 'delivered', 1, true, $1)`, f.now.Add(-time.Minute))
	// trg_ok: a failure, then delivered (newest): not failing now.
	f.postback(t, a1, "trg_ok", "cus_a", "failed", 3*h, 1, 0)
	f.postback(t, a1, "trg_ok", "cus_a", "delivered", 2*h, 1, 20)
	f.postback(t, a1, "trg_ok", "cus_a", "delivered", 40*h, 1, 20) // outside 24 h

	// The alerting counted these as failing (activities report every attempt).
	for _, sub := range [][2]string{{AlertTrigger, "trg_fail"}, {AlertTrigger, "trg_ok"}, {AlertPrinter, "prn_a"}, {AlertPrinter, "prn_b"}} {
		if _, err := f.st.AddAlertFailure(ctx, sub[0], sub[1], "test"); err != nil {
			t.Fatal(err)
		}
	}

	day := OverviewFilter{From: f.now.Add(-24 * h), To: f.now}
	week := OverviewFilter{From: f.now.Add(-7 * 24 * h), To: f.now}

	counts, err := f.st.OrdersPerHour(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	total := 0
	for _, c := range counts {
		got[c.Hour.Format("15")+" "+c.Status] += c.Count
		total += c.Count
	}
	want := map[string]int{"07 delivered": 1, "08 delivered": 1, "09 delivered": 1, "10 failed": 1, "10 shipped": 1, "11 rejected": 1, "11 shipped": 1}
	// 4h10m before 12:00 is 07:50, 4h is 08:00, 1h01m is 10:59, 1h is 11:00.
	if total != 7 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("orders per hour (24 h) = %v (total %d), want %v", got, total, want)
	}
	weekA := week
	weekA.CustomerID = "cus_a"
	counts, err = f.st.OrdersPerHour(ctx, weekA)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, c := range counts {
		if c.Status == "failed" {
			failed += c.Count
		}
	}
	if len(counts) != 5 || failed != 2 {
		t.Errorf("shop A's 7 days: %d buckets, %d failed; want 5 buckets and both failures", len(counts), failed)
	}

	pb, err := f.st.PostbackStats(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if pb != (PostbackStats{Total: 6, Delivered: 2, Pending: 1, Failed: 3, Retried: 2, Retries: 10}) {
		t.Errorf("postback stats = %+v", pb)
	}
	if r, ok := pb.SuccessRate(); !ok || r != 0.4 {
		t.Errorf("success rate = %v %v, want 0.4 (2 of 5 ended)", r, ok)
	}

	lat, err := f.st.Latencies(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	// Intake → printer answer: 150, 250, 350, 450, 15, 15 ms.
	if lat.IntakeToPrinter.N != 6 || lat.IntakeToPrinter.P50 != 200 || lat.IntakeToPrinter.P95 < 400 || lat.IntakeToPrinter.P95 > 450 {
		t.Errorf("intake latency = %+v", lat.IntakeToPrinter)
	}
	if lat.EventToPostback.N != 2 || lat.EventToPostback.P50 != 30 {
		t.Errorf("postback latency = %+v, want 2 samples (40 and 20 ms), p50 30", lat.EventToPostback)
	}

	trg, err := f.st.FailingTriggers(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(trg) != 2 || trg[0].ID != "trg_gone" || trg[1].ID != "trg_fail" || trg[1].Consecutive != 3 || !trg[1].Exhausted ||
		trg[1].LastReason != "reason exhausted" || trg[0].DisabledReason == "" {
		t.Errorf("failing triggers = %+v", trg)
	}
	if trg, err := f.st.FailingTriggers(ctx, "cus_b"); err != nil || len(trg) != 1 || trg[0].ID != "trg_gone" {
		t.Errorf("shop B's failing triggers = %+v, %v", trg, err)
	}

	prn, err := f.st.FailingPrinters(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// prn_a: newest sent order failed (500), the one before delivered:
	// one in a row (the 30 h old failure is behind a success).
	if len(prn) != 1 || prn[0].ID != "prn_a" || prn[0].Consecutive != 1 || prn[0].LastStatus == nil || *prn[0].LastStatus != 500 {
		t.Errorf("failing printers = %+v", prn)
	}

	cs, err := f.st.CustomerSummaries(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].CustomerID != "cus_a" || cs[0].Orders != 4 || cs[0].Failed != 1 || cs[0].FailureRate() != 0.25 ||
		cs[1].Orders != 3 || cs[1].Rejected != 1 {
		t.Errorf("customer summaries = %+v", cs)
	}

	if _, err := f.st.OrdersPerHour(ctx, OverviewFilter{From: f.now, To: f.now.Add(-h)}); err == nil {
		t.Error("a window with from after to was accepted")
	}
}
