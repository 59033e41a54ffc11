package api

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"orderintake/delivery"
	"orderintake/store"
)

// opsRoutes installs request metrics on every route registered after it and
// serves /metrics, /openapi.json and the HQ pages.
func (s *Server) opsRoutes(r *gin.Engine) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{st: s.Store, every: 5 * time.Second}, s.life.Fallbacks)
	m := newHTTPMetrics(reg)
	r.Use(m.observe)

	gatherers := prometheus.Gatherers{reg}
	if s.Metrics != nil {
		gatherers = append(gatherers, s.Metrics)
	}
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))
	r.GET("/openapi.json", s.openAPI)
	s.hqRoutes(r)
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orderintake_http_requests_total",
			Help: "HTTP requests by method, route pattern and status."}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "orderintake_http_request_duration_seconds",
			Help: "HTTP request latency by method and route pattern.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe counts a request under its route pattern (never the raw path, so
// ids do not explode the label set).
func (m *httpMetrics) observe(c *gin.Context) {
	if isInternalCall(c.Request.Context()) {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
}

// orderAttrs names the order a request is about in its log lines (routes
// whose :id is an order id), so a grep for the id finds them too.
func orderAttrs(c *gin.Context) []any {
	switch c.FullPath() {
	case "/v1/orders/:id", "/v1/orders/:id/cancel", "/v1/printer/orders/:id/events", "/v1/admin/requests/:id":
		return []any{"orderId", c.Param("id")}
	}
	return nil
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
		for _, status := range OrderStatuses {
			ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(sc.orders[status]), status)
		}
		for status, n := range sc.orders {
			if !isListed(OrderStatuses, status) {
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

// TemporalMetrics builds the Temporal SDK's metrics handler (tally with the
// Prometheus reporter and Prometheus naming) and the registry it fills:
// pass the handler in client.Options.MetricsHandler and the registry as
// Config.Metrics, and /metrics serves the SDK's metrics beside ours.
func TemporalMetrics() (client.MetricsHandler, *prometheus.Registry, io.Closer) {
	reg := prometheus.NewRegistry()
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg,
		// A metric the SDK re-registers with other labels must not crash the process.
		OnRegisterError: func(error) {}})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{CachedReporter: reporter, Separator: tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions}, time.Second)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), reg, closer
}

// MetricsHandler serves a registry at /metrics on its own (the worker's
// optional metrics listener).
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return mux
}
