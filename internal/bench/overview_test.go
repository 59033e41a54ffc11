package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// EnvHistoryURL names a database for TestOverviewAtSize: empty (it is
// loaded with the 1,000,000-order history of `bench history`, ~5 minutes)
// or one this test or `bench history --reuse` loaded before.
const EnvHistoryURL = "BENCH_HISTORY_DATABASE_URL"

// TestOverviewAtSize times every HQ overview query (and the admin lists
// beside them) on the full synthetic history and holds what a page view
// runs to the p99 target; the aggregates' refreshes (at most once a minute
// per window) are reported beside them. It is a measurement, so it runs only when asked:
//
//	BENCH_HISTORY_DATABASE_URL=postgres://… go test -run TestOverviewAtSize -timeout 30m -v ./internal/bench/
func TestOverviewAtSize(t *testing.T) {
	url := os.Getenv(EnvHistoryURL)
	if url == "" {
		t.Skip(EnvHistoryURL + " not set: the 1 M-order measurement runs only when asked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rep, err := History(ctx, HistoryOptions{DatabaseURL: url, Orders: 1_000_000, PostbacksPerOrder: 3, Reuse: true, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	rep.WriteTable(&buf, false)
	t.Log("\n" + buf.String())
	seen := 0
	for _, q := range rep.Queries {
		if !strings.HasPrefix(q.Name, overviewPrefix) {
			continue
		}
		seen++
		if q.Latency.P99 > OverviewTargetMs {
			t.Errorf("%s: p99 %.1f ms, target %d ms (plan: %s)", q.Name, q.Latency.P99, OverviewTargetMs, q.Plan)
		}
	}
	if seen == 0 {
		t.Error("no overview query timed")
	}
}
