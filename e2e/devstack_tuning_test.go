//go:build !nodev

package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"orderintake/worker/devstack"
)

// visibilityIndexes lists the indexes of the server's visibility table in
// a data dir's SQLite file (the driver is the one the server links).
func visibilityIndexes(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "temporal.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// The dev stack drops the visibility indexes on columns nothing filters on
// (every visibility write maintains them all); what the Web UI and our
// search attributes filter on stays indexed, and queries on the dropped
// columns still answer. Tuning.AllVisibilityIndexes keeps the stock schema.
func TestDevStackVisibilityIndexes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	lean := t.TempDir()
	st := startStack(ctx, t, devstack.Options{DataDir: lean, SearchAttributes: allSearchAttributes})
	c := connect(t, st)
	runGreet(ctx, t, c, "order/c9/lean", temporal.NewSearchAttributes(customerID.ValueSet("c9"), orderState.ValueSet("shipped")))
	findByQuery(ctx, t, c, `CustomerId = "c9" AND OrderStatus = "shipped"`, "order/c9/lean")
	findByQuery(ctx, t, c, `WorkflowType = "greet" AND ExecutionStatus = "Completed"`, "order/c9/lean")
	// On a column whose index went: answered by a scan.
	findByQuery(ctx, t, c, `HistoryLength > 0 AND CustomerId = "c9"`, "order/c9/lean")

	got := visibilityIndexes(t, lean)
	for _, keep := range []string{"default_idx", "by_workflow_id", "by_workflow_type", "by_status"} {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+keep+" ") {
			t.Errorf("index %s was dropped; left: %v", keep, got)
		}
	}
	// One by_keyword_NN index per Keyword column an attribute maps to (the
	// server picks the columns at random), none on the unused ones.
	keyword := 0
	for _, n := range got {
		if strings.HasPrefix(n, "by_keyword_") {
			keyword++
		}
	}
	if keyword != len(allSearchAttributes) || len(got) != 6+len(allSearchAttributes) {
		t.Errorf("%d visibility indexes left (%d on Keyword columns), want 6 + one per search attribute (%d): %v",
			len(got), keyword, len(allSearchAttributes), got)
	}

	full := t.TempDir()
	st2 := startStack(ctx, t, devstack.Options{DataDir: full, SearchAttributes: allSearchAttributes,
		Tuning: devstack.Tuning{AllVisibilityIndexes: true, HistoryShards: 2, TaskQueuePartitions: 2}})
	c2 := connect(t, st2)
	runGreet(ctx, t, c2, "order/c9/full", temporal.NewSearchAttributes(customerID.ValueSet("c9")))
	findByQuery(ctx, t, c2, `CustomerId = "c9"`, "order/c9/full")
	if n := len(visibilityIndexes(t, full)); n < 50 {
		t.Errorf("AllVisibilityIndexes: %d visibility indexes, want the stock schema's 58", n)
	}
}
