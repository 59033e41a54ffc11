//go:build !nodev

package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"orderintake/worker/devstack"
)

// These tests need the embedded server, which a nodev build leaves out
// (hence the build tag).

const taskQueue = "e2e-devstack"

var (
	customerID = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	orderRef   = temporal.NewSearchAttributeKeyKeyword("OrderReferenceId")
	orderState = temporal.NewSearchAttributeKeyKeyword("OrderStatus")

	allSearchAttributes = map[string]enums.IndexedValueType{
		customerID.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
		orderRef.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
		orderState.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
	}
)

// stderr, not t.Log: server goroutines may log after a test has finished.
var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func greet(_ workflow.Context, name string) (string, error) { return "hello " + name, nil }

func startStack(ctx context.Context, t testing.TB, o devstack.Options) *devstack.Stack {
	t.Helper()
	o.FrontendAddr = "127.0.0.1:0"
	o.Logger = quietLogger
	t0 := time.Now()
	st, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("devstack started in %v (data dir %q)", time.Since(t0).Round(time.Millisecond), o.DataDir)
	t.Cleanup(func() {
		t0 := time.Now()
		st.Stop()
		t.Logf("devstack stopped in %v", time.Since(t0).Round(time.Millisecond))
	})
	return st
}

// connect dials the stack and runs a worker for greet until the test ends.
func connect(t testing.TB, st *devstack.Stack) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: st.FrontendAddress(), Logger: sdklog.NewStructuredLogger(quietLogger)})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(greet, workflow.RegisterOptions{Name: "greet"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(); c.Close() }) // before the stack stops (cleanups run last-in first-out)
	return c
}

func runGreet(ctx context.Context, t testing.TB, c client.Client, id string, sa temporal.SearchAttributes) {
	t.Helper()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue, TypedSearchAttributes: sa}, "greet", "e2e")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out != "hello e2e" {
		t.Fatalf("workflow returned %q", out)
	}
}

// findByQuery polls visibility until query lists workflow id (visibility
// is eventually consistent).
func findByQuery(ctx context.Context, t testing.TB, c client.Client, query, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil {
			for _, e := range resp.GetExecutions() {
				if e.GetExecution().GetWorkflowId() == id {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility query %s did not find %s within 10 s (last error: %v)", query, id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDevStackSearchAttributesAndUI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := startStack(ctx, t, devstack.Options{UIAddr: "127.0.0.1:0", SearchAttributes: allSearchAttributes})
	c := connect(t, st)

	runGreet(ctx, t, c, "order/c1/ref-1", temporal.NewSearchAttributes(customerID.ValueSet("c1"), orderRef.ValueSet("ref-1")))
	runGreet(ctx, t, c, "order/c2/ref-2", temporal.NewSearchAttributes(customerID.ValueSet("c2")))
	findByQuery(ctx, t, c, `CustomerId = "c1"`, "order/c1/ref-1")

	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `CustomerId = "c1"`})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetExecutions()); n != 1 {
		t.Fatalf(`CustomerId = "c1" found %d workflows, want 1`, n)
	}

	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 30*24*time.Hour {
		t.Fatalf("retention = %v, want 30 days", got)
	}

	if st.UIURL() == "" {
		t.Fatal("UI not running")
	}
	res, err := http.Get(st.UIURL())
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", st.UIURL(), res.Status)
	}
}

const (
	helperDirEnv = "DEVSTACK_E2E_HELPER_DIR"
	restartWFID  = "order/c1/before-restart"
)

// TestDevStackRestartHelper is the first life of TestDevStackRestartOnDataDir,
// run in a child process: the SQLite plugin caches connections per process,
// so only a new process really reopens the file.
func TestDevStackRestartHelper(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("run by TestDevStackRestartOnDataDir")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One search attribute and a short retention: the restart must register
	// the other attributes and set the retention asked for then.
	st := startStack(ctx, t, devstack.Options{DataDir: dir, Retention: 7 * 24 * time.Hour, SearchAttributes: map[string]enums.IndexedValueType{
		customerID.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
	}})
	c := connect(t, st)
	runGreet(ctx, t, c, restartWFID, temporal.NewSearchAttributes(customerID.ValueSet("c1")))
}

func TestDevStackRestartOnDataDir(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDevStackRestartHelper$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("first life: %v\n%s", err, out)
	}
	t.Logf("first life (new file, one workflow, stop) took %v", time.Since(t0).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(dir, "temporal.db")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := startStack(ctx, t, devstack.Options{DataDir: dir, SearchAttributes: allSearchAttributes})
	c := connect(t, st)

	desc, err := c.DescribeWorkflowExecution(ctx, restartWFID, "")
	if err != nil {
		t.Fatalf("workflow from before the restart: %v", err)
	}
	if s := desc.GetWorkflowExecutionInfo().GetStatus(); s != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("workflow from before the restart is %v", s)
	}

	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 30*24*time.Hour {
		t.Fatalf("retention after restart = %v, want the default 30 days", got)
	}

	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for name := range allSearchAttributes {
		if _, ok := sas.GetCustomAttributes()[name]; !ok {
			t.Errorf("search attribute %s not registered after restart: %v", name, sas.GetCustomAttributes())
		}
	}
	// The attribute added on restart is usable at once.
	runGreet(ctx, t, c, "order/c1/after-restart", temporal.NewSearchAttributes(customerID.ValueSet("c1"), orderState.ValueSet("delivered")))
	findByQuery(ctx, t, c, `OrderStatus = "delivered"`, "order/c1/after-restart")
	findByQuery(ctx, t, c, `CustomerId = "c1"`, restartWFID)
}
