package worker

import (
	"context"
	"strings"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	oi "orderintake"
)

// orderLogging puts "orderId" on every log line of an order's workflow and
// activities (the SDK already adds WorkflowID and RunID), so one grep for an
// order id finds every line about it. The order id derives from the
// workflow id, so nothing is looked up.
type orderLogging struct {
	interceptor.WorkerInterceptorBase
}

// OrderIDOf returns the order id of an order workflow id
// ("order/<customer>/<key>"), or "" for other workflows.
func OrderIDOf(workflowID string) string {
	parts := strings.SplitN(workflowID, "/", 3)
	if len(parts) != 3 || parts[0] != "order" || parts[1] == "" || parts[2] == "" {
		return ""
	}
	return oi.OrderID(parts[1], parts[2])
}

func withOrder(l log.Logger, workflowID string) log.Logger {
	if id := OrderIDOf(workflowID); id != "" {
		return log.With(l, "orderId", id)
	}
	return l
}

func (*orderLogging) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityLogIn{}
	i.Next = next
	return i
}

type activityLogIn struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *activityLogIn) Init(out interceptor.ActivityOutboundInterceptor) error {
	o := &activityLogOut{}
	o.Next = out
	return i.Next.Init(o)
}

type activityLogOut struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (o *activityLogOut) GetLogger(ctx context.Context) log.Logger {
	return withOrder(o.Next.GetLogger(ctx), o.Next.GetInfo(ctx).WorkflowExecution.ID)
}

func (*orderLogging) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &workflowLogIn{}
	i.Next = next
	return i
}

type workflowLogIn struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *workflowLogIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	o := &workflowLogOut{}
	o.Next = out
	return i.Next.Init(o)
}

type workflowLogOut struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *workflowLogOut) GetLogger(ctx workflow.Context) log.Logger {
	return withOrder(o.Next.GetLogger(ctx), o.Next.GetInfo(ctx).WorkflowExecution.ID)
}
