package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	oi "orderintake"
)

// Activity options. Short database writes are local activities (no extra
// history events, no task queue round trip) that retry through a Postgres
// outage; the printer call and deliveries are regular activities so their
// retries show in the Web UI and survive worker restarts.
var (
	localOpts = workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: []string{ErrTemplate, ErrOrderConfig},
		},
	}
	printerOpts = workflow.ActivityOptions{
		StartToCloseTimeout:    3 * time.Minute,
		ScheduleToCloseTimeout: 72 * time.Hour,
		// The worker heartbeats running activities (worker/heartbeat.go): a
		// killed worker's printer call is retried after this, not after 3 min.
		HeartbeatTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Minute,
			NonRetryableErrorTypes: []string{ErrPrinterRejected, ErrOrderConfig},
		},
	}
	// A postback's first try runs as a local activity: no activity task
	// round trip, so most orders take one workflow task per event. The
	// workflow task stays open while it runs, which holds the order's other
	// work (another destination's next postback, the next event):
	// FirstTryCap bounds that hold, and the call inside ends by FirstTrySend
	// so the attempt is recorded within the cap. A try that fails (or hits
	// the cap) goes to the regular activity, whose retries show in the Web UI.
	firstTryOpts = workflow.LocalActivityOptions{
		StartToCloseTimeout:    FirstTryCap,
		ScheduleToCloseTimeout: FirstTryCap,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	// The printer's first try may hold the task longer: it runs before the
	// order has postbacks, while only a cancel (which waits for the call's
	// end anyway) could come, and a printer that takes a few seconds must
	// not get every order twice.
	printerFirstTryOpts = workflow.LocalActivityOptions{
		StartToCloseTimeout:    PrinterFirstTryCap,
		ScheduleToCloseTimeout: PrinterFirstTryCap,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
	}
	// The delivery activity follows the postback schedule itself (through
	// NextRetryDelay) and returns success once a postback reaches a final
	// state, so the policy only bounds each try.
	deliverOpts = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    20 * time.Second, // see printerOpts
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    24 * time.Hour,
		},
	}
)

// FirstTryCap bounds a first try run as a local activity, and with it how
// long a hanging receiver or printer holds the order's workflow task.
const FirstTryCap = 2 * time.Second

// FirstTrySend is a postback first try's own deadline for its webhook or
// SMTP call, leaving the rest of FirstTryCap to record the attempt.
const FirstTrySend = 1500 * time.Millisecond

// PrinterFirstTryCap and PrinterFirstTrySend are the printer send's first
// try's: below the workflow task timeout (10 s), above what printers take.
const (
	PrinterFirstTryCap  = 5 * time.Second
	PrinterFirstTrySend = 4500 * time.Millisecond
)

// versionFewerRoundTrips is the order's shape with fewer Temporal round
// trips (issue 14): first tries (a postback's first attempt, the printer
// send) as local activities within FirstTryCap (PrinterFirstTryCap), the
// regular activity after one that failed; one local activity per event
// (RecordEventAndPostbacks); OrderStatus upserted once per workflow task
// that moved it (publishStatus). It implies versionOrderLife and
// versionEventCap.
const versionFewerRoundTrips = "fewer-round-trips"

// historyLimit is where the workflow continues as new (orders see a handful
// of events; this guards against a printer that reports in a loop).
const historyLimit = 10000

// MaxOrderEvents caps the distinct events one order takes. A printer in a loop
// must not e-mail-bomb a merchant (every event fires its triggers) nor grow the
// seen set until the continue-as-new payload passes Temporal's limit. The API
// answers 409 past it; the workflow refuses too, for events already in flight.
const MaxOrderEvents = 200

// versionEventCap changes handle: events past MaxOrderEvents are rejected, and
// an event is marked seen only once it was recorded.
const versionEventCap = "event-cap-seen-after-record"

type orderRun struct {
	in       OrderInput
	status   string
	seen     map[string]bool
	queues   map[string][]PostbackRef // pending deliveries per destination
	inflight int                      // destinations being drained

	life *lifeRun // nil for orders started before versionOrderLife
	lean bool     // from versionFewerRoundTrips on (which implies versionOrderLife and versionEventCap)
	// shown is the OrderStatus search attribute as last upserted (lean).
	shown string
}

// showStatus puts the order's status in the OrderStatus search attribute
// (a visibility write each). From versionFewerRoundTrips on the main loop
// does it (publishStatus), once per workflow task and only on a change.
func (r *orderRun) showStatus(ctx workflow.Context) {
	if r.lean {
		return
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrOrderStatus.ValueSet(r.status))
}

// publishStatus upserts OrderStatus when the status moved since it was last
// shown. The main loop calls it before it waits or ends, and wakes up for
// a status a handler moved, so the command goes out with the workflow task
// that moved the status: several moves in one task make one write.
func (r *orderRun) publishStatus(ctx workflow.Context) {
	if r.lean && r.status != r.shown {
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrOrderStatus.ValueSet(r.status))
		r.shown = r.status
	}
}

// OrderWorkflow carries one order: record the request, render the intake
// template, send to the printer, then take printer events until the order is
// terminal and its postbacks are delivered.
func OrderWorkflow(ctx workflow.Context, in OrderInput) error {
	r := &orderRun{in: in, status: oi.StatusAccepted, seen: map[string]bool{}, queues: map[string][]PostbackRef{}}
	logger := workflow.GetLogger(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (string, error) { return r.status, nil }); err != nil {
		return err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, localOpts)

	// Asked first: every GetVersion records a marker and upserts the
	// TemporalChangeVersion search attribute (a visibility write each), so
	// an order of this shape asks it alone and takes the versions before it
	// (order life, event cap) as given. Orders started before it find no
	// marker here and ask those as they did.
	r.lean = workflow.GetVersion(ctx, versionFewerRoundTrips, workflow.DefaultVersion, 1) >= 1
	if r.lean || workflow.GetVersion(ctx, versionOrderLife, workflow.DefaultVersion, 1) >= 1 {
		return r.live(ctx, lctx)
	}
	if in.State != nil {
		r.status = in.State.Status
		for _, id := range in.State.SeenEvents {
			r.seen[id] = true
		}
	} else {
		rec := in
		if err := workflow.ExecuteLocalActivity(lctx, ActRecordRequest, rec).Get(ctx, nil); err != nil {
			return fmt.Errorf("record request: %w", err)
		}
		if reason := r.submit(ctx, lctx); reason != "" {
			logger.Info("order failed", "orderId", in.OrderID, "reason", reason)
			r.setStatus(ctx, lctx, oi.EventFailed, reason)
			r.handle(ctx, lctx, PrinterEvent{EventID: "system-failed", Status: oi.EventFailed,
				Timestamp: workflow.Now(ctx).UTC(), Message: reason}, "system")
		}
	}

	events := workflow.GetSignalChannel(ctx, SignalPrinterEvent)
	for {
		var ev PrinterEvent
		for events.ReceiveAsync(&ev) {
			r.handle(ctx, lctx, ev, "printer")
			ev = PrinterEvent{}
		}
		if oi.IsTerminal(r.status) && r.inflight == 0 {
			return nil
		}
		overLimit := func() bool { return workflow.GetInfo(ctx).GetCurrentHistoryLength() > historyLimit }
		if r.inflight == 0 && overLimit() {
			// Signals were drained just above, with no yield since: none is lost.
			st := &OrderState{Status: r.status}
			for id := range r.seen {
				st.SeenEvents = append(st.SeenEvents, id)
			}
			sort.Strings(st.SeenEvents) // map order is random; the command must not be
			next := in
			next.Body, next.Headers, next.State = nil, nil, st
			return workflow.NewContinueAsNewError(ctx, OrderWorkflow, next)
		}
		if err := workflow.Await(ctx, func() bool {
			return events.Len() > 0 || (r.inflight == 0 && (oi.IsTerminal(r.status) || overLimit()))
		}); err != nil {
			return err
		}
	}
}

// submit renders the intake template and sends the order to the printer. It
// returns why the order failed, or "" when the printer took it.
func (r *orderRun) submit(ctx, lctx workflow.Context) string {
	var tr TemplateResult
	if err := workflow.ExecuteLocalActivity(lctx, ActProcessTemplate, r.in.OrderID).Get(ctx, &tr); err != nil {
		return failureReason("template processing failed", err)
	}
	actx := workflow.WithActivityOptions(ctx, printerOpts)
	var pr PrinterResult
	if err := workflow.ExecuteActivity(actx, ActSendToPrinter, r.in.OrderID).Get(ctx, &pr); err != nil {
		return failureReason("printer did not take the order", err)
	}
	r.setStatus(ctx, lctx, oi.StatusSubmitted, "")
	return ""
}

func failureReason(prefix string, err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return prefix + ": " + appErr.Message()
	}
	return prefix + ": " + err.Error()
}

// setStatus records the order's status in Postgres and in the OrderStatus
// search attribute.
func (r *orderRun) setStatus(ctx, lctx workflow.Context, status, reason string) {
	r.status = status
	r.showStatus(ctx)
	if err := workflow.ExecuteLocalActivity(lctx, ActSetOrderStatus, StatusInput{OrderID: r.in.OrderID, Status: status, Reason: reason}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("set order status", "orderId", r.in.OrderID, "error", err)
	}
}

// handle takes one event: a repeat has no effect; after a terminal status it
// is recorded as rejected; otherwise it is recorded, moves the status and
// fires the customer's triggers.
func (r *orderRun) handle(ctx, lctx workflow.Context, ev PrinterEvent, source string) {
	if ev.EventID == "" || r.seen[ev.EventID] {
		return
	}
	capped := r.lean || workflow.GetVersion(ctx, versionEventCap, workflow.DefaultVersion, 1) >= 1
	if !capped {
		r.seen[ev.EventID] = true
	}
	rec := RecordEventInput{OrderID: r.in.OrderID, Event: ev, Source: source, Accepted: true}
	overCap := capped && len(r.seen) >= MaxOrderEvents
	switch {
	case oi.IsTerminal(r.status) && source == "printer":
		rec.Accepted = false
		rec.RejectReason = fmt.Sprintf("order is already %s; %s ignored", r.status, ev.Status)
	case overCap:
		rec.Accepted = false
		rec.RejectReason = fmt.Sprintf("order already has %d events, the most one order takes; %s ignored", MaxOrderEvents, ev.Status)
	}
	act := ActRecordEvent
	if r.lean {
		// The event, the status and the postbacks in one write.
		act = ActRecordEventAndPostbacks
	}
	var res RecordEventResult
	if err := workflow.ExecuteLocalActivity(lctx, act, rec).Get(ctx, &res); err != nil {
		// Not marked seen (from versionEventCap on): the printer's repeat gets another chance.
		workflow.GetLogger(ctx).Error("record event", "orderId", r.in.OrderID, "eventId", ev.EventID, "error", err)
		return
	}
	if capped && !overCap {
		// Events refused for the cap stay out of the set, so it never holds
		// more than MaxOrderEvents ids across continue-as-new.
		r.seen[ev.EventID] = true
	}
	if !rec.Accepted {
		return
	}
	if source == "printer" {
		r.status = ev.Status
		r.showStatus(ctx)
	}
	if r.lean {
		r.enqueueAll(ctx, res.Postbacks)
		return
	}
	var refs []PostbackRef
	in := CreatePostbacksInput{OrderID: r.in.OrderID, OrderEventID: res.OrderEventID, Event: ev}
	if err := workflow.ExecuteLocalActivity(lctx, ActCreatePostbacks, in).Get(ctx, &refs); err != nil {
		workflow.GetLogger(ctx).Error("create postbacks", "orderId", r.in.OrderID, "eventId", ev.EventID, "error", err)
		return
	}
	r.enqueueAll(ctx, refs)
}

// enqueueAll enqueues the postbacks that are to be delivered.
func (r *orderRun) enqueueAll(ctx workflow.Context, refs []PostbackRef) {
	for _, p := range refs {
		if p.Status == oi.PostbackPending {
			r.enqueue(ctx, p)
		}
	}
}

// enqueue adds a postback to its destination's queue. One coroutine drains
// each destination in event order, so a slow or failing destination delays
// only its own later postbacks.
func (r *orderRun) enqueue(ctx workflow.Context, p PostbackRef) {
	q, running := r.queues[p.Destination]
	r.queues[p.Destination] = append(q, p)
	if running {
		return
	}
	r.inflight++
	dest := p.Destination
	workflow.Go(ctx, func(gctx workflow.Context) {
		for len(r.queues[dest]) > 0 {
			r.deliver(gctx, r.queues[dest][0].ID)
			r.queues[dest] = r.queues[dest][1:]
		}
		delete(r.queues, dest)
		r.inflight--
	})
}

// deliver runs one postback's series to its end: from versionFewerRoundTrips
// on the first attempt as a local activity, then (when that one did not
// settle it) the regular activity on the schedule.
func (r *orderRun) deliver(ctx workflow.Context, id string) {
	logger := workflow.GetLogger(ctx)
	if r.lean {
		var res DeliverResult
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, firstTryOpts), ActDeliverPostbackFirst,
			DeliverInput{PostbackID: id, SendTimeout: FirstTrySend}).Get(ctx, &res)
		switch {
		case err != nil:
			// Cut at the cap (or the attempt could not be recorded): the
			// regular activity takes over at once.
			logger.Warn("first delivery attempt did not finish; the activity takes over", "postbackId", id, "error", err)
		case res.Status != oi.PostbackPending:
			return
		case res.RetryIn > 0:
			// The schedule's wait before the next attempt, as a timer.
			if err := workflow.Sleep(ctx, res.RetryIn); err != nil {
				logger.Error("deliver postback", "postbackId", id, "error", err)
				return
			}
		}
	}
	var res DeliverResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, deliverOpts), ActDeliverPostback,
		DeliverInput{PostbackID: id}).Get(ctx, &res); err != nil {
		logger.Error("deliver postback", "postbackId", id, "error", err)
	}
}
