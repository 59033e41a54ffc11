//go:build !nodev

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"orderintake/api"
	"orderintake/delivery"
	"orderintake/internal/pgcluster"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/metrics"
	"orderintake/store"
	"orderintake/worker"
)

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestReadyzFollowsPostgres stops a private PostgreSQL cluster under a
// running API: /readyz turns 503 naming Postgres, /healthz stays 200.
func TestReadyzFollowsPostgres(t *testing.T) {
	addr := sharedStack(t)
	ctx := context.Background()
	cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(t.TempDir(), "pg"), Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cl.Stop()
		}
	})
	if err := cl.CreateDatabase(ctx, "readyz"); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, cl.URL("readyz")); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cl.URL("readyz"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	tc, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(quietLogger)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	srv := httptest.NewServer(api.New(api.Config{Store: st, Temporal: tc, Mapper: mapper.NewEngine(mapper.Options{}),
		Sealer: testenv.Sealer(t), AdminToken: "adm_readyz", Logger: quietLogger}).Handler())
	t.Cleanup(srv.Close)

	if code, out := getJSON(t, srv.URL+"/readyz"); code != 200 || out["status"] != "ready" {
		t.Fatalf("/readyz with everything up = %d %v", code, out)
	}
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	code, out := getJSON(t, srv.URL+"/readyz")
	checks, _ := out["checks"].(map[string]any)
	if code != 503 || out["status"] != "unready" || checks["postgres"] != "unreachable" || checks["temporal"] != "ok" {
		t.Fatalf("/readyz with Postgres stopped = %d %v, want 503 naming postgres", code, out)
	}
	if code, _ := getJSON(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("/healthz with Postgres stopped = %d, want 200 (the process is alive)", code)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), "orderintake_store_up 0") {
		t.Fatalf("/metrics with Postgres stopped = %d, want orderintake_store_up 0", resp.StatusCode)
	}
}

// records keeps log records for assertions.
type records struct {
	mu    sync.Mutex
	attrs []map[string]string
	slog.Handler
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	r.attrs = append(r.attrs, m)
	r.mu.Unlock()
	return nil
}

func (r *records) WithAttrs(as []slog.Attr) slog.Handler { return &withAttrs{r, as} }
func (r *records) WithGroup(string) slog.Handler         { return r }

type withAttrs struct {
	r  *records
	as []slog.Attr
}

func (w *withAttrs) Enabled(context.Context, slog.Level) bool { return true }
func (w *withAttrs) Handle(ctx context.Context, rec slog.Record) error {
	rec.AddAttrs(w.as...)
	return w.r.Handle(ctx, rec)
}
func (w *withAttrs) WithAttrs(as []slog.Attr) slog.Handler {
	return &withAttrs{w.r, append(append([]slog.Attr{}, w.as...), as...)}
}
func (w *withAttrs) WithGroup(string) slog.Handler { return w }

func (r *records) find(msg string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, a := range r.attrs {
		if a["msg"] == msg {
			out = append(out, a)
		}
	}
	return out
}

// TestSDKMetricsAndOrderLogLines runs an order through a worker whose client
// carries the SDK's tally/Prometheus metrics and a recording logger: the
// SDK's metrics appear on the API's /metrics, and the workflow's log line
// about the order names both the order id and the workflow id.
func TestSDKMetricsAndOrderLogLines(t *testing.T) {
	addr := sharedStack(t)
	st := testenv.Store(t)
	sealer := testenv.Sealer(t)
	logs := &records{}
	sdkMetrics, reg, closer := metrics.Temporal()
	t.Cleanup(func() { closer.Close() })
	tc, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(slog.New(logs)), MetricsHandler: sdkMetrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	eng := mapper.NewEngine(mapper.Options{})
	// A failed order waits ORDERINTAKE_FAILED_ORDER_HOLD for a resubmit; a
	// short hold lets its workflow complete (a completion metric below).
	w, err := worker.New(tc, worker.Config{Store: st, Mapper: eng, Sealer: sealer, Guard: &delivery.Guard{AllowPrivate: true}, Logger: quietLogger,
		FailedOrderHold: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	srv := httptest.NewServer(api.New(api.Config{Store: st, Temporal: tc, Mapper: eng, Sealer: sealer, AdminToken: "adm_m",
		Logger: quietLogger, Metrics: reg}).Handler())
	t.Cleanup(srv.Close)

	printer := testenv.NewServer(t, http.StatusBadRequest) // refuses the order: it fails at once
	fx := testenv.Seed(t, st, sealer, printer.URL, printer.URL)
	key, err := st.CreateKey(context.Background(), "customer", fx.Customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/orders", strings.NewReader(`{"orderReferenceId": "LOG-1", "items": []}`))
	req.Header.Set("X-API-KEY", key.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var accepted map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("submit = %d %v", resp.StatusCode, accepted)
	}
	eventually(t, 20*time.Second, "the workflow to log the failed order", func() bool { return len(logs.find("order failed")) > 0 })
	line := logs.find("order failed")[0]
	if line["orderId"] != accepted["id"] || !strings.HasPrefix(line["WorkflowID"], "order/"+fx.Customer.ID+"/") {
		t.Fatalf("log line about the order = %v, want orderId %v and its WorkflowID", line, accepted["id"])
	}

	eventually(t, 10*time.Second, "SDK metrics on /metrics", func() bool {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			return false
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(raw), "temporal_request_total") && (strings.Contains(string(raw), "temporal_workflow_completed_total") ||
			strings.Contains(string(raw), "temporal_workflow_failed_total"))
	})
}
