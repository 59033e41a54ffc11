package workflows_test

import (
	"testing"

	"go.temporal.io/sdk/worker"

	"orderintake/workflows"
)

// TestReplaySavedHistory replays a real order's history (JSON order, four
// printer events, four postbacks; recorded by the e2e journey test with
// SAVE_REPLAY_HISTORY=order_history.json: each file is saved only when
// named, so one saved before a version change is never rewritten by accident). A change to OrderWorkflow that would break
// running orders fails here: version it with workflow.GetVersion instead.
//
// order_history.json was saved before the event cap (workflow.GetVersion
// "event-cap-seen-after-record"); order_history_event_cap.json after it, with
// the version marker, so both paths stay replayable. Both were saved before
// the order-life version ("order-life-cancel-resubmit-delayed": cancel
// Update, resubmit, delayed timer), so they also replay the path that orders
// in flight at that upgrade keep taking.
func TestReplaySavedHistory(t *testing.T) {
	for _, f := range []string{"testdata/order_history.json", "testdata/order_history_event_cap.json",
		// Saved after it (e2e/order_life_test.go, SAVE_REPLAY_HISTORY=<file>): a
		// cancel at the printer, and a resubmit after a template error.
		"testdata/order_history_order_life_cancel.json", "testdata/order_history_order_life_resubmit.json",
		// Saved after versionFewerRoundTrips (e2e/hang_test.go,
		// SAVE_REPLAY_HISTORY=<file>): first tries as local activities,
		// the printer's and a postback's failing and going on as activities.
		"testdata/order_history_fewer_round_trips.json"} {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflow(workflows.OrderWorkflow)
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}
