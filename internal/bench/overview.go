package bench

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"orderintake/overview"
	"orderintake/store"
)

// OverviewTargetMs is the p99 an HQ overview read should stay under.
const OverviewTargetMs = 50

// Names: "overview: …" are what a page view runs (held to OverviewTargetMs
// by TestOverviewAtSize); "overview refresh: …" are the window aggregates
// the overview computes at most once a minute per window (package
// overview), timed for the record.
const (
	overviewPrefix = "overview: "
	refreshPrefix  = "overview refresh: "
)

// targetMs is a query's p99 target: the lists' and details', the overview
// reads', none for the overview's refreshes (they run at most once a
// minute per window, beside the page, not in it).
func targetMs(name string) (float64, bool) {
	switch {
	case strings.HasPrefix(name, refreshPrefix):
		return 0, false
	case strings.HasPrefix(name, overviewPrefix):
		return OverviewTargetMs, true
	}
	return HistoryTargetMs, true
}

// overviewQueries are the reads of the HQ overview page (store/overview.go,
// overview/), over the last 24 hours and 7 days of the history, all
// customers and one (the biggest customers are the first: the history is
// skewed).
func overviewQueries(o HistoryOptions, end time.Time) []histQuery {
	window := func(span time.Duration, oneCustomer bool) func(r *rand.Rand) store.OverviewFilter {
		return func(r *rand.Rand) store.OverviewFilter {
			f := store.OverviewFilter{From: end.Add(-span), To: end}
			if oneCustomer {
				f.CustomerID = SyntheticCustomerID(r.IntN(min(o.Customers, 5)))
			}
			return f
		}
	}
	// "Failing now" reads the history of the subjects the alerting counts as
	// failing; the synthetic history has none, so a bad day is staged before
	// the first overview query: a streak on every trigger of the first 20
	// customers (the biggest: 60 triggers over ~400,000 postbacks) and on
	// the printer.
	staged := false
	stage := func(ctx context.Context, st *store.Store) error {
		if staged {
			return nil
		}
		staged = true
		for i := range min(o.Customers, 20) {
			for _, ev := range SyntheticEvents[:o.PostbacksPerOrder] {
				if _, err := st.AddAlertFailure(ctx, store.AlertTrigger, SyntheticTriggerID(i, ev), "staged by the bench"); err != nil {
					return err
				}
			}
		}
		_, err := st.AddAlertFailure(ctx, store.AlertPrinter, synPrinter, "staged by the bench")
		return err
	}
	q := func(name string, pick func(r *rand.Rand) store.OverviewFilter, run func(context.Context, *store.Store, store.OverviewFilter) (int, error)) histQuery {
		return histQuery{name: name,
			prepare: func(ctx context.Context, st *store.Store, r *rand.Rand) (any, error) { return pick(r), stage(ctx, st) },
			run: func(ctx context.Context, st *store.Store, p any) (int, error) {
				return run(ctx, st, p.(store.OverviewFilter))
			}}
	}
	perHour := func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
		c, err := st.OrdersPerHour(ctx, f)
		return len(c), err
	}
	pbStats := func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
		_, err := st.PostbackStats(ctx, f)
		return 1, err
	}
	latencies := func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
		_, err := st.Latencies(ctx, f)
		return 2, err
	}
	customers := func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
		c, err := st.CustomerSummaries(ctx, f)
		return len(c), err
	}
	failingTriggers := func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
		t, err := st.FailingTriggers(ctx, f.CustomerID)
		return len(t), err
	}
	failingPrinters := func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
		p, err := st.FailingPrinters(ctx, f.CustomerID)
		return len(p), err
	}
	day, week := 24*time.Hour, 7*24*time.Hour
	// The page as served: the live parts and the cached aggregates (warm:
	// the warm-up calls of timeQuery compute them once).
	svc := &overview.Service{Store: nil, MaxAge: time.Hour}
	page := func(span time.Duration) func(context.Context, *store.Store, store.OverviewFilter) (int, error) {
		return func(ctx context.Context, st *store.Store, f store.OverviewFilter) (int, error) {
			svc.Store = st
			ov, err := svc.Get(ctx, span, f.CustomerID)
			if err != nil {
				return 0, err
			}
			return len(ov.Hourly) + len(ov.FailingTriggers) + len(ov.FailingPrinters), nil
		}
	}
	qs := []histQuery{
		q(overviewPrefix+"page, 24 h (live failing lists + cached aggregates)", window(day, false), page(day)),
		q(overviewPrefix+"page, 7 days", window(week, false), page(week)),
		q(overviewPrefix+"page, customer, 7 days", window(week, true), page(week)),
		q(overviewPrefix+"failing printers", window(day, false), failingPrinters),
		q(overviewPrefix+"failing printers, customer", window(day, true), failingPrinters),
		q(refreshPrefix+"orders per hour by status, 24 h", window(day, false), perHour),
		q(refreshPrefix+"orders per hour by status, 7 days", window(week, false), perHour),
		q(refreshPrefix+"orders per hour by status, customer, 7 days", window(week, true), perHour),
		q(refreshPrefix+"latency p50/p95, 24 h", window(day, false), latencies),
		q(refreshPrefix+"latency p50/p95, 7 days", window(week, false), latencies),
		q(refreshPrefix+"latency p50/p95, customer, 7 days", window(week, true), latencies),
		q(refreshPrefix+"orders per customer, 24 h", window(day, false), customers),
		q(refreshPrefix+"orders per customer, 7 days", window(week, false), customers),
	}
	if o.PostbacksPerOrder == 0 {
		return qs
	}
	return append(qs,
		q(overviewPrefix+"failing triggers", window(day, false), failingTriggers),
		q(overviewPrefix+"failing triggers, customer", window(day, true), failingTriggers),
		q(refreshPrefix+"postback success and retries, 24 h", window(day, false), pbStats),
		q(refreshPrefix+"postback success and retries, 7 days", window(week, false), pbStats),
		q(refreshPrefix+"postback success and retries, customer, 7 days", window(week, true), pbStats),
	)
}
