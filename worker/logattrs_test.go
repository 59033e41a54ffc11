package worker

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	oi "orderintake"
)

// capture records every line with its attributes (those of With too).
type capture struct {
	mu    *sync.Mutex
	lines *[]map[string]string
	with  []slog.Attr
}

func newCapture() *capture { return &capture{mu: &sync.Mutex{}, lines: &[]map[string]string{}} }

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	for _, a := range c.with {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	c.mu.Lock()
	*c.lines = append(*c.lines, m)
	c.mu.Unlock()
	return nil
}
func (c *capture) WithAttrs(as []slog.Attr) slog.Handler {
	return &capture{mu: c.mu, lines: c.lines, with: append(append([]slog.Attr{}, c.with...), as...)}
}
func (c *capture) WithGroup(string) slog.Handler { return c }

func logActivity(ctx context.Context) error {
	activity.GetLogger(ctx).Info("activity line")
	return nil
}

func logWorkflow(ctx workflow.Context) error {
	workflow.GetLogger(ctx).Info("workflow line")
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10e9})
	return workflow.ExecuteActivity(ctx, logActivity).Get(ctx, nil)
}

// TestLogLinesNameTheOrder: lines logged by an order's workflow and
// activities carry its order id, though neither passes it.
func TestLogLinesNameTheOrder(t *testing.T) {
	logs := newCapture()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(logs)))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{&orderLogging{}}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "order/cus_1/K-1"})
	env.RegisterWorkflow(logWorkflow)
	env.RegisterActivity(logActivity)
	env.ExecuteWorkflow(logWorkflow)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := oi.OrderID("cus_1", "K-1")
	seen := map[string]bool{}
	for _, l := range *logs.lines {
		if l["msg"] == "workflow line" || l["msg"] == "activity line" {
			seen[l["msg"]] = true
			// (The SDK adds WorkflowID itself; its test environment does so
			// for activities only, e2e checks a real worker's lines.)
			if l["orderId"] != want || (l["msg"] == "activity line" && l["WorkflowID"] != "order/cus_1/K-1") {
				t.Errorf("%q = %v, want orderId %s", l["msg"], l, want)
			}
		}
	}
	if len(seen) != 2 {
		t.Fatalf("lines seen %v of %d", seen, len(*logs.lines))
	}
	if OrderIDOf("postback/pbk_1/1") != "" || OrderIDOf("order/cus_1") != "" {
		t.Error("OrderIDOf names an order for a workflow that is not one")
	}
}
