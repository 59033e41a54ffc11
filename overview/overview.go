// Package overview assembles the HQ overview (/hq/): orders per hour by
// status, failure and postback-success rates, latencies, per-customer
// counts (the aggregates), and what is failing now (live).
//
// The aggregates scan a window of orders and postbacks (a week is ~80,000
// orders and ~230,000 postbacks in `bench history`'s million-order history:
// 100–600 ms on a loaded 2-core machine), so they are computed at most once
// per MaxAge per window and replica and served from memory in between
// (stale-while-revalidate: a reader past MaxAge gets the last result and
// starts one refresh). "Failing now" and the open incidents are read live:
// they follow the few failing subjects, not the history.
package overview

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"orderintake/store"
)

// Spans the page offers.
const (
	Day  = 24 * time.Hour
	Week = 7 * 24 * time.Hour
)

// DefaultMaxAge is how old served aggregates may be.
const DefaultMaxAge = time.Minute

// Aggregates are the window's computed parts.
type Aggregates struct {
	From, To   time.Time
	CustomerID string
	Hourly     []store.HourCount
	Postbacks  store.PostbackStats
	Latency    store.Latencies
	Customers  []store.CustomerSummary
	ComputedAt time.Time
	TookMs     float64 // how long computing them took
}

// Orders and Failed total the window's orders and failed ones.
func (a *Aggregates) Orders() (total, failed int) {
	for _, c := range a.Hourly {
		total += c.Count
		if c.Status == "failed" {
			failed += c.Count
		}
	}
	return total, failed
}

// Overview is what the page shows.
type Overview struct {
	*Aggregates
	Span            time.Duration
	FailingTriggers []store.FailingTrigger
	FailingPrinters []store.FailingPrinter
	Incidents       []*store.Incident
}

// Service computes and caches overviews.
type Service struct {
	Store  *store.Store
	MaxAge time.Duration // 0: DefaultMaxAge
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now

	mu      sync.Mutex
	entries map[key]*entry
}

type key struct {
	span     time.Duration
	customer string
}

type entry struct {
	agg        *Aggregates
	refreshing bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Get returns the overview of the last span (Day or Week), all customers or one.
func (s *Service) Get(ctx context.Context, span time.Duration, customerID string) (*Overview, error) {
	agg, err := s.aggregates(ctx, key{span, customerID})
	if err != nil {
		return nil, err
	}
	o := &Overview{Aggregates: agg, Span: span}
	if o.FailingTriggers, err = s.Store.FailingTriggers(ctx, customerID); err != nil {
		return nil, err
	}
	if o.FailingPrinters, err = s.Store.FailingPrinters(ctx, customerID); err != nil {
		return nil, err
	}
	incs, err := s.Store.ListIncidents(ctx, false, 20)
	if err != nil {
		return nil, err
	}
	for _, i := range incs {
		if customerID == "" || i.CustomerID == customerID {
			o.Incidents = append(o.Incidents, i)
		}
	}
	return o, nil
}

// Refresh drops what is cached, so the next Get computes afresh (a test
// that just submitted orders, an operator's "refresh now").
func (s *Service) Refresh() {
	s.mu.Lock()
	s.entries = nil
	s.mu.Unlock()
}

func (s *Service) aggregates(ctx context.Context, k key) (*Aggregates, error) {
	maxAge := s.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	s.mu.Lock()
	if s.entries == nil {
		s.entries = map[key]*entry{}
	}
	e := s.entries[k]
	if e != nil && e.agg != nil {
		agg := e.agg
		if s.now().Sub(agg.ComputedAt) > maxAge && !e.refreshing {
			e.refreshing = true
			go s.refresh(k, e)
		}
		s.mu.Unlock()
		return agg, nil
	}
	s.mu.Unlock()
	// Nothing to serve yet: compute now (concurrent first readers may each
	// compute once; the last result is kept).
	agg, err := s.compute(ctx, k)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if e := s.entries[k]; e == nil || e.agg == nil || e.agg.ComputedAt.Before(agg.ComputedAt) {
		s.entries[k] = &entry{agg: agg}
	}
	s.mu.Unlock()
	return agg, nil
}

func (s *Service) refresh(k key, e *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agg, err := s.compute(ctx, k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e.refreshing = false
	if err != nil {
		if s.Logger != nil {
			s.Logger.Error("overview refresh", "span", k.span.String(), "customer", k.customer, "error", err)
		}
		return // the last result stays served; the next reader tries again
	}
	e.agg = agg
}

func (s *Service) compute(ctx context.Context, k key) (*Aggregates, error) {
	t0 := time.Now()
	to := s.now().UTC()
	f := store.OverviewFilter{From: to.Add(-k.span), To: to, CustomerID: k.customer}
	a := &Aggregates{From: f.From, To: f.To, CustomerID: k.customer}
	var err error
	if a.Hourly, err = s.Store.OrdersPerHour(ctx, f); err != nil {
		return nil, err
	}
	if a.Postbacks, err = s.Store.PostbackStats(ctx, f); err != nil {
		return nil, err
	}
	if a.Latency, err = s.Store.Latencies(ctx, f); err != nil {
		return nil, err
	}
	if a.Customers, err = s.Store.CustomerSummaries(ctx, f); err != nil {
		return nil, err
	}
	a.ComputedAt, a.TookMs = to, float64(time.Since(t0).Microseconds())/1000
	return a, nil
}
