package api_test

import (
	"strings"
	"testing"

	oi "orderintake"
	"orderintake/internal/webtest"
)

// TestMetrics reads /metrics as Prometheus would after some traffic: HTTP by
// route pattern and status, orders by status and attempts by outcome from
// Postgres, and HQ pages counted once (not their in-process API calls).
func TestMetrics(t *testing.T) {
	e := webtest.New(t)
	e.Must("POST", "/v1/admin/customers", map[string]any{"name": "M", "referenceId": "m"}, 201)
	e.Admin("GET", "/v1/admin/customers/cus_a", nil)
	e.Admin("GET", "/v1/admin/customers/cus_b", nil)
	_, pbs := e.Journey("MET-1", t0, 201, "shipped")
	e.Journey("MET-2", t0, 0)
	e.Attempt(pbs[0], 503, "retry", oi.PostbackPending)
	e.Attempt(pbs[0], 200, "delivered", oi.PostbackDelivered)
	b := e.Browser()
	b.Login()
	b.Get("/hq/requests")

	st, _, resp, raw := e.Do("GET", "/metrics", nil, "")
	text := string(raw)
	if st != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics = %d %s", st, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`orderintake_http_requests_total{method="POST",route="/v1/admin/customers",status="201"} 1`,
		`orderintake_http_requests_total{method="GET",route="/v1/admin/customers/:id",status="404"} 2`,
		`orderintake_http_requests_total{method="GET",route="/hq/",status="200"} 1`,         // the overview, after login
		`orderintake_http_requests_total{method="GET",route="/hq/requests",status="200"} 1`, // then the list,
		`orderintake_http_request_duration_seconds_count{method="POST",route="/v1/admin/customers"} 1`,
		`orderintake_orders{status="shipped"} 1`,
		`orderintake_orders{status="failed"} 1`,
		`orderintake_orders{status="delivered"} 0`,
		`orderintake_postback_attempts_total{outcome="retry"} 1`,
		`orderintake_postback_attempts_total{outcome="delivered"} 1`,
		`orderintake_store_up 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+" ") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The page's own API calls are not counted as API traffic.
	if strings.Contains(text, `route="/v1/admin/requests"`) {
		t.Errorf("HQ's in-process API calls were counted:\n%s", grepLines(text, "/v1/admin/requests"))
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
