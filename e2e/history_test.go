package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	sdkworker "go.temporal.io/sdk/worker"

	"orderintake/workflows"
)

// replayHistory replays the workflow's history (as JSON, the format of
// `temporal workflow show --output json`) on today's OrderWorkflow. With
// SAVE_REPLAY_HISTORY=<name> it also keeps it as workflows/testdata/<name>,
// whose replay test guards determinism: only the history named is
// rewritten, so those saved before a version change stay as they were.
func replayHistory(t *testing.T, p *product, wfID, name string) {
	t.Helper()
	iter := p.tc.GetWorkflowHistory(context.Background(), wfID, "", false, 0)
	var hist historypb.History
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.OrderWorkflow)
	if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Fatalf("replay %s: %v", wfID, err)
	}
	if os.Getenv("SAVE_REPLAY_HISTORY") == name {
		if err := os.WriteFile(filepath.Join("..", "workflows", "testdata", name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
