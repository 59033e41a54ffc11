package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	oi "orderintake"
	"orderintake/store"
	"orderintake/store/storebench"
)

// HistoryOptions configure `orderintake bench history`.
type HistoryOptions struct {
	DatabaseURL       string
	Orders            int // order requests to load
	PostbacksPerOrder int // postbacks per order (3: 3,000,000 for a million orders)
	Customers, Days   int
	Reps              int  // timed calls per query
	Reuse             bool // a database that already holds this history is not loaded again
	Progress          io.Writer
	Logger            *slog.Logger
}

// QueryTiming is one admin query, timed through the store as the API runs it.
type QueryTiming struct {
	Name    string                 `json:"name"`
	Latency Dist                   `json:"latency"`
	Rows    float64                `json:"avgRows"`
	Plan    string                 `json:"plan"` // the scans EXPLAIN shows
	SeqScan bool                   `json:"seqScan"`
	Plans   []storebench.Explained `json:"explain"`
}

// HistoryReport is one `bench history` run.
type HistoryReport struct {
	Orders    int64         `json:"orders"`
	Postbacks int64         `json:"postbacks"`
	Customers int           `json:"customers"`
	Days      int           `json:"days"`
	LoadSec   float64       `json:"loadSec"`
	Reused    bool          `json:"reused"`
	Machine   Machine       `json:"machine"`
	Queries   []QueryTiming `json:"queries"`
}

// HistoryTargetMs is the p99 an admin list or detail read should stay under.
const HistoryTargetMs = 20

func (o *HistoryOptions) defaults() error {
	if o.Orders <= 0 {
		o.Orders = 1_000_000
	}
	if o.PostbacksPerOrder < 0 || o.PostbacksPerOrder > len(SyntheticEvents) {
		return fmt.Errorf("bench history: postbacks per order must be 0..%d", len(SyntheticEvents))
	}
	if o.Customers <= 0 {
		o.Customers = 100
	}
	if o.Days <= 0 {
		o.Days = 90
	}
	if o.Reps <= 0 {
		o.Reps = 200
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DatabaseURL == "" {
		return errors.New("bench history: DatabaseURL is required")
	}
	return nil
}

// SyntheticOrderID is the id of synthetic order g (1-based), as the loader makes it.
func SyntheticOrderID(g int) string { return "ord_syn_" + md5hex(strconv.Itoa(g))[:22] }

// SyntheticPostbackID is the id of the k-th (1-based) postback of order g.
func SyntheticPostbackID(g, k int) string {
	return "pb_syn_" + md5hex(strconv.Itoa(g) + "/" + strconv.Itoa(k))[:22]
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// History loads the synthetic history (unless reused) and times the queries.
func History(ctx context.Context, o HistoryOptions) (*HistoryReport, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	rep := &HistoryReport{Customers: o.Customers, Days: o.Days, Machine: machine()}
	if err := store.Migrate(ctx, o.DatabaseURL); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	db, err := storebench.Open(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	wantPb := int64(o.Orders * o.PostbacksPerOrder)
	haveOrders, havePb, err := hasSyntheticHistory(ctx, db)
	if err != nil {
		return nil, err
	}
	var end time.Time
	switch {
	case o.Reuse && haveOrders == int64(o.Orders) && havePb == wantPb:
		rep.Reused, rep.Orders, rep.Postbacks = true, haveOrders, havePb
		if end, err = syntheticEnd(ctx, st); err != nil {
			return nil, err
		}
	default:
		if n, err := countOrders(ctx, db); err != nil {
			return nil, err
		} else if n > 0 {
			return nil, fmt.Errorf("bench history: the database already holds %d order requests: use an empty database "+
				"(or --reuse on one this command loaded with the same sizes)", n)
		}
		end = time.Now().UTC().Truncate(time.Second)
		var done, donePb atomic.Int64
		pr := startProgress(o.Progress, "load", counter{"orders", int64(o.Orders), done.Load}, counter{"postbacks", wantPb, donePb.Load})
		t0 := time.Now()
		rep.Orders, rep.Postbacks, err = loadSyntheticHistory(ctx, st, db, SyntheticHistory{Orders: o.Orders,
			PostbacksPerOrder: o.PostbacksPerOrder, Customers: o.Customers, Days: o.Days, End: end},
			func(orders, postbacks int64) { done.Store(orders); donePb.Store(postbacks) })
		pr.Stop()
		if err != nil {
			return nil, err
		}
		rep.LoadSec = time.Since(t0).Round(100 * time.Millisecond).Seconds()
		if rep.Orders != int64(o.Orders) || rep.Postbacks != wantPb {
			return nil, fmt.Errorf("bench history: loaded %d orders and %d postbacks, want %d and %d", rep.Orders, rep.Postbacks, o.Orders, wantPb)
		}
	}

	queries := append(historyQueries(o, end), overviewQueries(o, end)...)
	var done atomic.Int64
	pr := startProgress(o.Progress, "queries", counter{"queries", int64(len(queries)), done.Load})
	defer pr.Stop()
	for _, q := range queries {
		qt, err := timeQuery(ctx, st, db, q, o.Reps)
		if err != nil {
			return nil, fmt.Errorf("bench history: %s: %w", q.name, err)
		}
		rep.Queries = append(rep.Queries, qt)
		done.Add(1)
	}
	return rep, nil
}

// syntheticEnd finds the end of a loaded history (its newest order).
func syntheticEnd(ctx context.Context, st *store.Store) (time.Time, error) {
	list, _, err := st.ListOrderRequests(ctx, store.ListFilter{Limit: 1})
	if err != nil || len(list) == 0 {
		return time.Time{}, fmt.Errorf("bench history: find the newest order: %v", err)
	}
	return list[0].ReceivedAt.Add(time.Second).Truncate(time.Second), nil
}

// histQuery is one kind of admin read: prepare picks its parameters (not
// timed: it may page to find a deep cursor), run is what the API runs.
type histQuery struct {
	name    string
	prepare func(ctx context.Context, st *store.Store, r *rand.Rand) (any, error)
	run     func(ctx context.Context, st *store.Store, p any) (int, error)
}

func listRequests(name string, pick func(r *rand.Rand) store.ListFilter) histQuery {
	return histQuery{name: name,
		prepare: func(_ context.Context, _ *store.Store, r *rand.Rand) (any, error) { return pick(r), nil },
		run: func(ctx context.Context, st *store.Store, p any) (int, error) {
			list, _, err := st.ListOrderRequests(ctx, p.(store.ListFilter))
			return len(list), err
		}}
}

func listPostbacks(name string, pick func(r *rand.Rand) store.ListFilter) histQuery {
	return histQuery{name: name,
		prepare: func(_ context.Context, _ *store.Store, r *rand.Rand) (any, error) { return pick(r), nil },
		run: func(ctx context.Context, st *store.Store, p any) (int, error) {
			list, _, err := st.ListPostbacks(ctx, p.(store.ListFilter))
			return len(list), err
		}}
}

// deep turns a filter into a cursor page deep in the range: the cursor is
// the one a client holds after paging down to a random time in the older
// half of the history.
func deep(q histQuery, end time.Time, days int, requests bool) histQuery {
	pick := q.prepare
	q.prepare = func(ctx context.Context, st *store.Store, r *rand.Rand) (any, error) {
		p, _ := pick(ctx, st, r)
		f := p.(store.ListFilter)
		probe := f
		probe.To, probe.Limit = end.Add(-time.Duration(days*12+r.IntN(days*10))*time.Hour), 1
		var next string
		var err error
		if requests {
			_, next, err = st.ListOrderRequests(ctx, probe)
		} else {
			_, next, err = st.ListPostbacks(ctx, probe)
		}
		f.Cursor = next
		return f, err
	}
	return q
}

func historyQueries(o HistoryOptions, end time.Time) []histQuery {
	day := func(r *rand.Rand) time.Time { return end.Add(-time.Duration(1+r.IntN(o.Days-1)) * 24 * time.Hour) }
	cust := func(r *rand.Rand) string { return SyntheticCustomerID(r.IntN(o.Customers)) }
	order := func(r *rand.Rand) int { return 1 + r.IntN(o.Orders) }
	qs := []histQuery{
		listRequests("requests: newest page", func(*rand.Rand) store.ListFilter { return store.ListFilter{} }),
		listRequests("requests: 1-day window", func(r *rand.Rand) store.ListFilter {
			d := day(r)
			return store.ListFilter{From: d, To: d.Add(24 * time.Hour)}
		}),
		listRequests("requests: customer", func(r *rand.Rand) store.ListFilter { return store.ListFilter{CustomerID: cust(r)} }),
		listRequests("requests: customer + 7-day window", func(r *rand.Rand) store.ListFilter {
			d := day(r)
			return store.ListFilter{CustomerID: cust(r), From: d.Add(-6 * 24 * time.Hour), To: d.Add(24 * time.Hour)}
		}),
		listRequests("requests: status failed", func(*rand.Rand) store.ListFilter { return store.ListFilter{Status: oi.EventFailed} }),
		listRequests("requests: status shipped, 1-day window", func(r *rand.Rand) store.ListFilter {
			d := end.Add(-time.Duration(1+r.IntN(9)) * 24 * time.Hour) // shipped orders are the recent ones
			return store.ListFilter{Status: oi.EventShipped, From: d, To: d.Add(24 * time.Hour)}
		}),
		listRequests("requests: customer + status failed", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{CustomerID: cust(r), Status: oi.EventFailed}
		}),
		listRequests("requests: reference prefix", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{Reference: "REF-" + strconv.Itoa(order(r))}
		}),
		listRequests("requests: search (reference part, order id or key)", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{Query: "ref-" + strconv.Itoa(order(r))}
		}),
		deep(listRequests("requests: cursor page deep in range", func(*rand.Rand) store.ListFilter { return store.ListFilter{} }), end, o.Days, true),
		deep(listRequests("requests: customer, cursor page deep", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{CustomerID: cust(r)}
		}), end, o.Days, true),
		{name: "request detail (order, events, postbacks)",
			prepare: func(_ context.Context, _ *store.Store, r *rand.Rand) (any, error) {
				return SyntheticOrderID(order(r)), nil
			},
			run: func(ctx context.Context, st *store.Store, p any) (int, error) {
				o, err := st.GetOrderRequest(ctx, p.(string))
				if err != nil {
					return 0, err
				}
				evs, err := st.ListOrderEvents(ctx, o.ID)
				if err != nil {
					return 0, err
				}
				pbs, err := st.ListOrderPostbacks(ctx, o.ID)
				return 1 + len(evs) + len(pbs), err
			}},
	}
	if o.PostbacksPerOrder == 0 {
		return qs
	}
	return append(qs,
		listPostbacks("postbacks: newest page", func(*rand.Rand) store.ListFilter { return store.ListFilter{} }),
		listPostbacks("postbacks: 1-day window", func(r *rand.Rand) store.ListFilter {
			d := day(r)
			return store.ListFilter{From: d, To: d.Add(24 * time.Hour)}
		}),
		listPostbacks("postbacks: customer", func(r *rand.Rand) store.ListFilter { return store.ListFilter{CustomerID: cust(r)} }),
		listPostbacks("postbacks: status failed", func(*rand.Rand) store.ListFilter { return store.ListFilter{Status: oi.PostbackFailed} }),
		listPostbacks("postbacks: status pending, 7-day window", func(r *rand.Rand) store.ListFilter {
			d := day(r)
			return store.ListFilter{Status: oi.PostbackPending, From: d.Add(-6 * 24 * time.Hour), To: d.Add(24 * time.Hour)}
		}),
		listPostbacks("postbacks: event shipped", func(*rand.Rand) store.ListFilter { return store.ListFilter{Event: oi.EventShipped} }),
		listPostbacks("postbacks: customer + status failed", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{CustomerID: cust(r), Status: oi.PostbackFailed}
		}),
		listPostbacks("postbacks: customer + event", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{CustomerID: cust(r), Event: SyntheticEvents[r.IntN(min(o.PostbacksPerOrder, 3))]}
		}),
		listPostbacks("postbacks: trigger", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{TriggerID: SyntheticTriggerID(r.IntN(o.Customers), SyntheticEvents[0])}
		}),
		listPostbacks("postbacks: order reference prefix", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{Reference: "REF-" + strconv.Itoa(order(r))}
		}),
		listPostbacks("postbacks: search (order reference part)", func(r *rand.Rand) store.ListFilter {
			return store.ListFilter{Query: "REF-" + strconv.Itoa(order(r))}
		}),
		deep(listPostbacks("postbacks: cursor page deep in range", func(*rand.Rand) store.ListFilter { return store.ListFilter{} }), end, o.Days, false),
		histQuery{name: "postback detail (postback, attempts)",
			prepare: func(_ context.Context, _ *store.Store, r *rand.Rand) (any, error) {
				return SyntheticPostbackID(order(r), 1+r.IntN(o.PostbacksPerOrder)), nil
			},
			run: func(ctx context.Context, st *store.Store, p any) (int, error) {
				pb, err := st.GetPostback(ctx, p.(string))
				if err != nil {
					return 0, err
				}
				atts, err := st.ListAttempts(ctx, pb.ID)
				return 1 + len(atts), err
			}},
	)
}

// timeQuery warms a query up, times reps calls with random parameters, and
// explains one call.
func timeQuery(ctx context.Context, st *store.Store, db *storebench.DB, q histQuery, reps int) (QueryTiming, error) {
	qt := QueryTiming{Name: q.name}
	r := rand.New(rand.NewPCG(7, uint64(len(q.name))))
	params := make([]any, 0, reps)
	for range reps + 5 {
		p, err := q.prepare(ctx, st, r)
		if err != nil {
			return qt, err
		}
		params = append(params, p)
	}
	for _, p := range params[reps:] { // warm-up: plan cache, pool connections
		if _, err := q.run(ctx, st, p); err != nil {
			return qt, err
		}
	}
	lat := make([]time.Duration, 0, reps)
	rows := 0
	for _, p := range params[:reps] {
		t0 := time.Now()
		n, err := q.run(ctx, st, p)
		lat = append(lat, time.Since(t0))
		if err != nil {
			return qt, err
		}
		rows += n
	}
	qt.Latency, qt.Rows = distOf(lat), float64(rows)/float64(reps)
	plans, err := db.Explain(ctx, func(ctx context.Context, st *store.Store) error {
		_, err := q.run(ctx, st, params[0])
		return err
	})
	if err != nil {
		return qt, err
	}
	qt.Plans = plans
	qt.Plan, qt.SeqScan = scans(plans)
	return qt, nil
}

var scanNode = regexp.MustCompile(`(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)( Backward)?( using| on) (\S+)`)

// scans lists the scan nodes of the plans, for the table: which indexes
// the query uses, and whether any table is read sequentially.
func scans(plans []storebench.Explained) (string, bool) {
	var out []string
	seen := map[string]bool{}
	seq := false
	for _, p := range plans {
		for _, line := range p.Plan {
			m := scanNode.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			s := m[4]
			if m[1] == "Seq Scan" {
				s, seq = "SEQ "+m[4], true
			} else if m[1] == "Index Only Scan" {
				s += " (index only)"
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, ", "), seq
}

// WriteTable prints the report as one table.
func (r *HistoryReport) WriteTable(w io.Writer, explain bool) {
	how := fmt.Sprintf("loaded in %.0fs", r.LoadSec)
	if r.Reused {
		how = "reused"
	}
	fmt.Fprintf(w, "orderintake bench history: %d order requests, %d postbacks, %d customers over %d days (%s); %d CPUs, load average %.2f at start\n",
		r.Orders, r.Postbacks, r.Customers, r.Days, how, r.Machine.CPUs, r.Machine.Load1)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "query\tp50 ms\tp99 ms\tmax ms\trows\tplan (scans)\n")
	over := 0
	for _, q := range r.Queries {
		mark := ""
		if target, ok := targetMs(q.Name); ok && q.Latency.P99 >= target {
			mark, over = " !", over+1
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f%s\t%.1f\t%.0f\t%s\n", q.Name, q.Latency.P50, q.Latency.P99, mark, q.Latency.Max, q.Rows, q.Plan)
	}
	tw.Flush()
	if over == 0 {
		fmt.Fprintf(w, "every query's p99 is under its target (lists and details %d ms, overview reads %d ms; overview refreshes have none)\n",
			HistoryTargetMs, OverviewTargetMs)
	} else {
		fmt.Fprintf(w, "%d queries at or over their p99 target (marked !; lists and details %d ms, overview reads %d ms)\n",
			over, HistoryTargetMs, OverviewTargetMs)
	}
	if !explain {
		return
	}
	for _, q := range r.Queries {
		fmt.Fprintf(w, "\n== %s\n", q.Name)
		for _, p := range q.Plans {
			fmt.Fprintf(w, "%s\n", strings.Join(strings.Fields(p.SQL), " "))
			for _, l := range p.Plan {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
}
