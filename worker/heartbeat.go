package worker

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// heartbeats keeps every running (non-local) activity that has a heartbeat
// timeout heartbeating while it runs. A worker that dies in the middle of a
// printer call or a delivery then loses the activity within the heartbeat
// timeout instead of its whole start-to-close timeout, so another worker
// retries it in seconds rather than minutes. Activities need no code for it.
type heartbeats struct {
	interceptor.WorkerInterceptorBase
}

func (*heartbeats) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &heartbeatInbound{}
	i.Next = next
	return i
}

type heartbeatInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (h *heartbeatInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	if info.IsLocalActivity || info.HeartbeatTimeout <= 0 {
		return h.Next.ExecuteActivity(ctx, in)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		// The SDK batches heartbeats (at most one per 80 % of the timeout
		// reaches the server); a third of the timeout keeps it fed.
		t := time.NewTicker(max(info.HeartbeatTimeout/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return h.Next.ExecuteActivity(ctx, in)
}
