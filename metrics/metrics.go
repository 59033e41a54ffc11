// Package metrics is what orderintake reports to Prometheus: HTTP requests
// by route pattern, orders by status and postback attempts by outcome (read
// from PostgreSQL, so every replica reports the same truth), the Go runtime,
// and the Temporal SDK's client metrics. The API serves it at /metrics.
package metrics

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/store"
)

// Registry holds one API process's metrics.
type Registry struct {
	reg       *prometheus.Registry
	gatherers prometheus.Gatherers
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

// New registers the runtime, the store's counts (st may be nil: reported
// as down) and the HTTP metrics; extra (the SDK's registry, may be nil) is
// served beside them.
func New(st *store.Store, extra prometheus.Gatherer) *Registry {
	r := &Registry{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orderintake_http_requests_total",
			Help: "HTTP requests by method, route pattern and status."}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "orderintake_http_request_duration_seconds",
			Help: "HTTP request latency by method and route pattern.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
	}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{st: st, every: 5 * time.Second}, r.requests, r.duration)
	r.gatherers = prometheus.Gatherers{r.reg}
	if extra != nil {
		r.gatherers = append(r.gatherers, extra)
	}
	return r
}

// ObserveHTTP counts one request under its route pattern (never the raw
// path, so ids do not explode the label set; "" counts as unmatched).
func (r *Registry) ObserveHTTP(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	r.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	r.duration.WithLabelValues(method, route).Observe(took.Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.gatherers, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

var (
	ordersDesc = prometheus.NewDesc("orderintake_orders", "Orders by current status (read from PostgreSQL at scrape time).",
		[]string{"status"}, nil)
	attemptsDesc = prometheus.NewDesc("orderintake_postback_attempts_total",
		"Postback delivery attempts by outcome (read from PostgreSQL at scrape time).", []string{"outcome"}, nil)
	storeUpDesc = prometheus.NewDesc("orderintake_store_up", "1 when the last scrape could read PostgreSQL, else 0.", nil, nil)
)

// attemptOutcomes are reported even at zero, so dashboards have every series.
var attemptOutcomes = []string{string(delivery.Delivered), string(delivery.Retry), string(delivery.Permanent),
	string(delivery.Gone), string(delivery.Aborted)}

// storeCollector reads order and attempt counts from Postgres, so every API
// replica reports the same truth whichever worker did the work. Results are
// kept for a few seconds so frequent scrapes cost one query.
type storeCollector struct {
	st    *store.Store
	every time.Duration

	mu       sync.Mutex
	at       time.Time
	orders   map[string]int64
	attempts map[string]int64
	up       bool
}

func (sc *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ordersDesc
	ch <- attemptsDesc
	ch <- storeUpDesc
}

func (sc *storeCollector) Collect(ch chan<- prometheus.Metric) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if time.Since(sc.at) >= sc.every {
		sc.refresh()
	}
	up := 0.0
	if sc.up {
		up = 1
		for _, status := range oi.OrderStatuses {
			ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(sc.orders[status]), status)
		}
		for status, n := range sc.orders {
			if !isListed(oi.OrderStatuses, status) {
				ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(n), status)
			}
		}
		for _, o := range attemptOutcomes {
			ch <- prometheus.MustNewConstMetric(attemptsDesc, prometheus.CounterValue, float64(sc.attempts[o]), o)
		}
		for o, n := range sc.attempts {
			if !isListed(attemptOutcomes, o) {
				ch <- prometheus.MustNewConstMetric(attemptsDesc, prometheus.CounterValue, float64(n), o)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
}

func (sc *storeCollector) refresh() {
	sc.at = time.Now()
	if sc.st == nil {
		sc.up = false
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	orders, err := sc.st.CountOrdersByStatus(ctx)
	if err == nil {
		var attempts map[string]int64
		if attempts, err = sc.st.CountAttemptsByOutcome(ctx); err == nil {
			sc.orders, sc.attempts = orders, attempts
		}
	}
	sc.up = err == nil
}

func isListed(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

// Temporal builds the Temporal SDK's metrics handler (tally with the
// Prometheus reporter and Prometheus naming) and the registry it fills:
// pass the handler in client.Options.MetricsHandler and the registry as
// api.Config.Metrics, and /metrics serves the SDK's metrics beside ours.
func Temporal() (client.MetricsHandler, *prometheus.Registry, io.Closer) {
	reg := prometheus.NewRegistry()
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg,
		// A metric the SDK re-registers with other labels must not crash the process.
		OnRegisterError: func(error) {}})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{CachedReporter: reporter, Separator: tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions}, time.Second)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), reg, closer
}

// Handler serves a registry at /metrics on its own (the worker's
// optional metrics listener).
func Handler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// MustRegister adds collectors of other packages (the response-template
// fallback counter of service.OrderLife) to the API's own registry.
func (r *Registry) MustRegister(cs ...prometheus.Collector) { r.reg.MustRegister(cs...) }
