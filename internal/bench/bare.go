package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare floor: a workflow of the journey's shape in its naive form, one
// regular activity per stage, doing no I/O. It runs on the same Temporal
// server as the journey, on its own task queue, driven the same way (the
// "send" stage plays the printer, "deliver" the receiver, in-process).
const (
	bareWorkflowName = "BenchBareOrder"
	bareActivityName = "BenchNoop"
	bareSignal       = "printer-event"
)

var bareStatus = temporal.NewSearchAttributeKeyKeyword("OrderStatus")

// bareInput is the shape: events per order, deliveries per event. Shape
// "naive" runs every stage as a regular activity; "local" runs the database
// stages as local activities and upserts a status search attribute, as
// OrderWorkflow does; "merged" also merges adjacent local stages;
// "lafirst" also delivers as local activities (what a first delivery
// attempt in the workflow task would cost).
type bareInput struct {
	Events, Triggers int
	Shape            string
}

// bareCall is one stage of one order.
type bareCall struct {
	Order          string
	Stage          string
	Event, Trigger int
}

// bareActivities returns how many regular activities a bare order runs.
func bareActivities(events, triggers int) int { return 4 + events*(2+triggers) }

func bareOrderWorkflow(ctx workflow.Context, in bareInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	stage := func(name string, ev, trig int) workflow.Future {
		return workflow.ExecuteActivity(ctx, bareActivityName, bareCall{Order: id, Stage: name, Event: ev, Trigger: trig})
	}
	local := func(names ...string) []string {
		switch in.Shape {
		case "local":
			for _, n := range names {
				if err := workflow.ExecuteLocalActivity(lctx, bareActivityName, bareCall{Order: id, Stage: n}).Get(ctx, nil); err != nil {
					return nil
				}
			}
			return nil
		case "merged", "lafirst":
			_ = workflow.ExecuteLocalActivity(lctx, bareActivityName, bareCall{Order: id, Stage: names[0]}).Get(ctx, nil)
			return nil
		}
		return names
	}
	status := func(s string) {
		if in.Shape != "naive" && in.Shape != "" {
			_ = workflow.UpsertTypedSearchAttributes(ctx, bareStatus.ValueSet(s))
		}
	}
	// record request, template processing, send to printer, status
	for _, s := range local("record", "template") {
		if err := stage(s, 0, 0).Get(ctx, nil); err != nil {
			return err
		}
	}
	if err := stage("send", 0, 0).Get(ctx, nil); err != nil {
		return err
	}
	if in.Shape != "merged" && in.Shape != "lafirst" {
		for _, s := range local("status") {
			if err := stage(s, 0, 0).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	status("submitted")
	events := workflow.GetSignalChannel(ctx, bareSignal)
	for ev := range in.Events {
		var got int
		events.Receive(ctx, &got)
		// record event, create postbacks, then one delivery per trigger
		// (distinct destinations: in parallel, as the journey's queues are)
		for _, s := range local("record-event", "create-postbacks") {
			if err := stage(s, ev, 0).Get(ctx, nil); err != nil {
				return err
			}
		}
		status("event")
		deliveries := make([]workflow.Future, in.Triggers)
		for t := range in.Triggers {
			if in.Shape == "lafirst" {
				deliveries[t] = workflow.ExecuteLocalActivity(lctx, bareActivityName, bareCall{Order: id, Stage: "deliver", Event: ev, Trigger: t})
			} else {
				deliveries[t] = stage("deliver", ev, t)
			}
		}
		for _, f := range deliveries {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// bareActs does no I/O: "send" tells the in-process printer, "deliver" the
// in-process receiver, through the tracker.
type bareActs struct {
	cur  atomic.Pointer[tracker]
	ctx  context.Context
	tc   client.Client
	wait time.Duration
}

func (b *bareActs) noop(ctx context.Context, c bareCall) error {
	t := b.cur.Load()
	switch c.Stage {
	case "send":
		if o, first := t.printerGot(c.Order, time.Now()); first {
			go t.report(b.ctx, c.Order, o, b.signal, b.wait)
		}
	case "deliver":
		if activity.GetInfo(ctx).Attempt == 1 {
			t.postbackGot(c.Order, c.Event, c.Trigger, time.Now())
		}
	}
	return nil
}

func (b *bareActs) signal(ctx context.Context, id string, ev int) error {
	return b.tc.SignalWorkflow(ctx, id, "", bareSignal, ev)
}

// runBare runs the bare floor with the options' shape and concurrency.
func runBare(ctx context.Context, o *Options, tc client.Client, run string, meter cpuMeter, holds string) (stageResult, CPU, error) {
	queue := "bench-bare-" + run
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	acts := &bareActs{ctx: wctx, tc: tc, wait: 2 * time.Minute}
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(bareOrderWorkflow, workflow.RegisterOptions{Name: bareWorkflowName})
	w.RegisterActivityWithOptions(acts.noop, activity.RegisterOptions{Name: bareActivityName})
	shape := o.BareShape
	if err := w.Start(); err != nil {
		return stageResult{}, CPU{}, fmt.Errorf("bench: start bare worker: %w", err)
	}
	defer w.Stop()

	pass := func(label string, n int, bar bool) (*tracker, time.Time, error) {
		t := newTracker(eventsFor(o.Events), o.Triggers)
		ids := make([]string, n)
		for i := range n {
			ids[i] = fmt.Sprintf("bench-bare/%s/%s/%d", run, label, i)
			t.add(ids[i])
		}
		acts.cur.Store(t)
		var pr *progress
		if bar {
			pr = startProgress(o.Progress, "bare", counter{"postbacks", int64(n * o.Events * o.Triggers), t.postbacks.Load},
				counter{"started", int64(n), t.submitted.Load}, counter{"at printer", int64(n), t.printed.Load})
		}
		start := time.Now()
		driveIntake(ctx, ids, o.Concurrency, o.Rate, func(ctx context.Context, _ int, id string, t0 time.Time) {
			_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, bareWorkflowName,
				bareInput{Events: o.Events, Triggers: o.Triggers, Shape: shape})
			status := 202
			if err != nil {
				status = 0
			}
			t.intakeDone(t.get(id), t0, status, err)
		})
		err := waitDone(ctx, t, int64(n*o.Events*o.Triggers), o.Stall, func() error { return nil })
		if pr != nil {
			pr.Stop()
		}
		return t, start, err
	}
	if o.Warmup > 0 {
		if _, _, err := pass("warmup", o.Warmup, false); err != nil {
			return stageResult{}, CPU{}, fmt.Errorf("bench: bare warm-up: %w", err)
		}
	}
	meter.worker, meter.api = 0, 0 // ours: idle now
	cpu0 := meter.snap()
	t, start, err := pass("run", o.Orders, true)
	cpu := meter.snap().perOrder(cpu0, o.Orders, holds)
	if err != nil {
		return stageResult{}, CPU{}, err
	}
	return t.collect(start), cpu, nil
}
