package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"orderintake/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestHistorySmoke runs `bench history` at a small size: it checks that the
// loader makes what it says and that every timed query runs and is
// explained; never the timings.
func TestHistorySmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := History(ctx, HistoryOptions{DatabaseURL: pgtest.URL(t), Orders: 5000, PostbacksPerOrder: 3, Customers: 20, Days: 90, Reps: 5})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	rep.WriteTable(&buf, false)
	t.Log("\n" + buf.String())
	if rep.Orders != 5000 || rep.Postbacks != 15000 {
		t.Fatalf("loaded %d orders and %d postbacks, want 5000 and 15000", rep.Orders, rep.Postbacks)
	}
	if len(rep.Queries) < 20 {
		t.Fatalf("%d queries timed", len(rep.Queries))
	}
	for _, q := range rep.Queries {
		if len(q.Plans) == 0 || q.Plan == "" {
			t.Errorf("%s: no plan", q.Name)
		}
		if q.Latency.N != 5 {
			t.Errorf("%s: %d timings", q.Name, q.Latency.N)
		}
	}
	for _, name := range []string{"requests: newest page", "postbacks: newest page", "requests: cursor page deep in range"} {
		for _, q := range rep.Queries {
			if q.Name == name && q.Rows != 50 {
				t.Errorf("%s: %.0f rows, want a full page of 50", name, q.Rows)
			}
		}
	}
	for _, q := range rep.Queries {
		if q.Name == "request detail (order, events, postbacks)" && q.Rows != 4 {
			t.Errorf("request detail read %.1f rows, want the order and its 3 postbacks", q.Rows)
		}
	}
}
