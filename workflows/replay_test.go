package workflows_test

import (
	"testing"

	"go.temporal.io/sdk/worker"

	"orderintake/workflows"
)

// TestReplaySavedHistory replays a real order's history (JSON order, four
// printer events, four postbacks; recorded by the e2e journey test with
// UPDATE_REPLAY_HISTORY=1). A change to OrderWorkflow that would break
// running orders fails here: version it with workflow.GetVersion instead.
func TestReplaySavedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.OrderWorkflow)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/order_history.json"); err != nil {
		t.Fatal(err)
	}
}
