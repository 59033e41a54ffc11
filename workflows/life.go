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

// versionOrderLife is the order's life after intake (issue 12): cancel as an
// Update, resubmit of a failed order (which then waits for one), the delayed
// timer and the printer's order id. Orders started before it run the
// original loop in OrderWorkflow unchanged.
const versionOrderLife = "order-life-cancel-resubmit-delayed"

// CancelWait is how long a cancel's caller waits for the printer's verdict
// before answering 202 cancel_pending (the update keeps running).
const CancelWait = 30 * time.Second

// cancelOpts bound a cancel at the printer: 5xx and network errors are
// retried, a 4xx is the printer's refusal (not retried).
var cancelOpts = workflow.ActivityOptions{
	StartToCloseTimeout:    3 * time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	HeartbeatTimeout:       20 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        2 * time.Minute,
		NonRetryableErrorTypes: []string{ErrPrinterRejected, ErrOrderConfig, ErrTemplate},
	},
}

// lifeRun is the state of the order-life version.
type lifeRun struct {
	settings  OrderSettings
	recorded  bool // the order's row exists (cancels reference it)
	try       int
	took      bool // the printer took the current try
	tookAt    time.Time
	failedAt  time.Time
	resubmit  bool // a resubmit is asked
	resubmits workflow.ReceiveChannel

	submitting   bool
	stopSubmit   workflow.CancelFunc
	cancelAsked  bool      // a cancel came before the printer took the order
	cancelComing int       // cancels being recorded (versionFewerRoundTrips)
	canceling    *cancelOp // the cancel under way; later ones wait for its verdict

	delayDue, delayFired bool
	stopDelay            workflow.CancelFunc
	holdOver             bool
	stopHold             workflow.CancelFunc
}

type cancelOp struct {
	done bool
	res  CancelResult
	err  error
}

// live runs the order from versionOrderLife on.
func (r *orderRun) live(ctx, lctx workflow.Context) error {
	l := &lifeRun{try: 1, resubmits: workflow.GetSignalChannel(ctx, SignalResubmit)}
	r.life = l
	if r.lean {
		// What the order started (or continued) with: the API sets accepted.
		r.shown, _ = workflow.GetTypedSearchAttributes(ctx).GetKeyword(AttrOrderStatus)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, r.cancel,
		workflow.UpdateHandlerOptions{Validator: r.validateCancel}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResubmit, r.askResubmit,
		workflow.UpdateHandlerOptions{Validator: r.validateResubmit}); err != nil {
		return err
	}
	in := r.in
	if st := in.State; st != nil {
		r.status = st.Status
		for _, id := range st.SeenEvents {
			r.seen[id] = true
		}
		l.recorded, l.try, l.took, l.tookAt, l.delayFired = true, max(st.Try, 1), st.Took, st.TookAt, st.DelayedFired
		l.failedAt = st.FailedAt
		l.settings = OrderSettings{DelayedAfter: st.DelayedAfter, FailedHold: st.FailedHold}
		if l.took && !l.delayFired && !oi.ShippedOrLater(r.status) {
			r.startDelay(ctx)
		}
	} else {
		if err := workflow.ExecuteLocalActivity(lctx, ActRecordRequest, in).Get(ctx, nil); err != nil {
			return fmt.Errorf("record request: %w", err)
		}
		l.recorded = true
		if err := workflow.ExecuteLocalActivity(lctx, ActOrderSettings, in.OrderID).Get(ctx, &l.settings); err != nil {
			// Settings are optional: without them there is no delayed event
			// and the hold is the default one.
			workflow.GetLogger(ctx).Error("order settings", "orderId", in.OrderID, "error", err)
		}
		r.runTry(ctx, lctx)
	}

	events := workflow.GetSignalChannel(ctx, SignalPrinterEvent)
	for {
		var ev PrinterEvent
		for events.ReceiveAsync(&ev) {
			r.handle(ctx, lctx, ev, "printer")
			ev = PrinterEvent{}
		}
		for l.resubmits.ReceiveAsync(nil) {
			if r.status == oi.EventFailed {
				l.resubmit = true
			} else {
				workflow.GetLogger(ctx).Info("resubmit signal ignored", "orderId", in.OrderID, "status", r.status)
			}
		}
		if oi.ShippedOrLater(r.status) && l.stopDelay != nil {
			l.stopDelay()
			l.stopDelay = nil
		}
		if l.delayDue && !l.delayFired {
			l.delayFired = true
			if !oi.ShippedOrLater(r.status) {
				r.handle(ctx, lctx, PrinterEvent{EventID: "system-delayed", Status: oi.EventDelayed, Timestamp: workflow.Now(ctx).UTC(),
					Message: fmt.Sprintf("the printer took the order %s ago and has not shipped it", l.settings.DelayedAfter)}, "system")
			}
		}
		if l.resubmit && r.status == oi.EventFailed {
			l.resubmit = false
			if l.stopHold != nil {
				l.stopHold()
			}
			l.stopHold, l.holdOver, l.failedAt = nil, false, time.Time{}
			l.try++
			if err := workflow.ExecuteLocalActivity(lctx, ActArchiveTry, ArchiveTryInput{OrderID: in.OrderID, Try: l.try}).Get(ctx, nil); err != nil {
				return fmt.Errorf("archive try %d: %w", l.try-1, err)
			}
			r.status = oi.StatusAccepted
			r.showStatus(ctx)
			r.publishStatus(ctx) // now: the try may take long (the printer's retries)
			r.runTry(ctx, lctx)
			continue
		}
		if r.status == oi.EventFailed && l.stopHold == nil && !l.holdOver {
			// Failed (our try, or the printer's report): the order waits for a resubmit.
			if l.failedAt.IsZero() {
				l.failedAt = workflow.Now(ctx)
			}
			r.startHold(ctx)
		}
		r.publishStatus(ctx)
		done := func() bool {
			return oi.IsTerminal(r.status) && r.inflight == 0 && workflow.AllHandlersFinished(ctx) &&
				!l.resubmit && (r.status != oi.EventFailed || l.holdOver)
		}
		if done() {
			return nil
		}
		overLimit := func() bool { return workflow.GetInfo(ctx).GetCurrentHistoryLength() > historyLimit }
		if r.inflight == 0 && l.canceling == nil && !l.submitting && workflow.AllHandlersFinished(ctx) && overLimit() {
			// Signals were drained just above, with no yield since: none is lost.
			return workflow.NewContinueAsNewError(ctx, OrderWorkflow, r.carry())
		}
		if err := workflow.Await(ctx, func() bool {
			return events.Len() > 0 || l.resubmits.Len() > 0 || l.resubmit || (l.delayDue && !l.delayFired) ||
				(r.lean && r.status != r.shown) ||
				(oi.ShippedOrLater(r.status) && l.stopDelay != nil) || done() ||
				(r.inflight == 0 && l.canceling == nil && overLimit())
		}); err != nil {
			return err
		}
	}
}

// carry is the next run's input at continue-as-new.
func (r *orderRun) carry() OrderInput {
	l := r.life
	st := &OrderState{Status: r.status, Try: l.try, Took: l.took, TookAt: l.tookAt, DelayedAfter: l.settings.DelayedAfter,
		DelayedFired: l.delayFired, FailedAt: l.failedAt, FailedHold: l.settings.FailedHold}
	for id := range r.seen {
		st.SeenEvents = append(st.SeenEvents, id)
	}
	sort.Strings(st.SeenEvents) // map order is random; the command must not be
	next := r.in
	next.Body, next.Headers, next.State = nil, nil, st
	return next
}

// runTry renders and sends the current try, then settles it: submitted (and
// the delayed timer started), canceled by a cancel that came first (the
// cancel's handler records that), or failed (and the hold started).
func (r *orderRun) runTry(ctx, lctx workflow.Context) {
	l := r.life
	l.took = false
	reason := ""
	if !l.cancelAsked {
		sctx, stop := workflow.WithCancel(ctx)
		l.submitting, l.stopSubmit = true, stop
		reason = r.submitTry(sctx)
		l.submitting, l.stopSubmit = false, nil
		stop()
	}
	switch {
	case l.took:
		r.setStatus(ctx, lctx, oi.StatusSubmitted, "")
		r.startDelay(ctx)
	case l.cancelAsked:
		// The cancel's handler ends the order.
	default:
		workflow.GetLogger(ctx).Info("order failed", "orderId", r.in.OrderID, "try", l.try, "reason", reason)
		r.setStatus(ctx, lctx, oi.EventFailed, reason)
		id := "system-failed"
		if l.try > 1 {
			id = fmt.Sprintf("system-failed-%d", l.try)
		}
		r.handle(ctx, lctx, PrinterEvent{EventID: id, Status: oi.EventFailed, Timestamp: workflow.Now(ctx).UTC(), Message: reason}, "system")
	}
}

// submitTry renders the intake template and sends the order; a cancel
// cancels sctx. It returns why the try failed, or "" when the printer took it.
func (r *orderRun) submitTry(sctx workflow.Context) string {
	l := r.life
	var tr TemplateResult
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(sctx, localOpts), ActProcessTemplate, r.in.OrderID).
		Get(sctx, &tr); err != nil {
		return failureReason("template processing failed", err)
	}
	opts := printerOpts
	// A cancel during the printer call waits for the call's end: if the
	// printer took the order meanwhile, the cancel goes to the printer.
	opts.WaitForCancellation = true
	var pr PrinterResult
	if r.lean {
		// A cancel being recorded decides first (runCancel).
		if err := workflow.Await(sctx, func() bool { return l.cancelComing == 0 }); err != nil {
			return failureReason("printer did not take the order", err)
		}
		if l.cancelAsked {
			return "canceled before the printer was called"
		}
		// The first try, as a local activity that a cancel does not cut
		// short (it ends within PrinterFirstTryCap), for the same reason.
		dctx, _ := workflow.NewDisconnectedContext(sctx)
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(dctx, printerFirstTryOpts), ActSendToPrinterFirst,
			PrinterSendInput{OrderID: r.in.OrderID, SendTimeout: PrinterFirstTrySend}).Get(dctx, &pr)
		if err == nil {
			l.took, l.tookAt = true, workflow.Now(sctx)
			return ""
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && (appErr.Type() == ErrPrinterRejected || appErr.Type() == ErrOrderConfig) {
			return failureReason("printer did not take the order", err)
		}
		workflow.GetLogger(sctx).Warn("first printer try did not go through; the activity retries", "orderId", r.in.OrderID, "error", err)
		// The retry policy's first wait, then the activity and its retries
		// (a cancel meanwhile ends both at once: the printer has not taken
		// the order).
		if err := workflow.Sleep(sctx, printerOpts.RetryPolicy.InitialInterval); err != nil {
			return failureReason("printer did not take the order", err)
		}
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(sctx, opts), ActSendToPrinterAgain,
			PrinterSendInput{OrderID: r.in.OrderID, PriorAttempts: 1}).Get(sctx, &pr); err != nil {
			return failureReason("printer did not take the order", err)
		}
	} else if err := workflow.ExecuteActivity(workflow.WithActivityOptions(sctx, opts), ActSendToPrinter, r.in.OrderID).
		Get(sctx, &pr); err != nil {
		return failureReason("printer did not take the order", err)
	}
	l.took, l.tookAt = true, workflow.Now(sctx)
	return ""
}

// startDelay starts the delayed timer of a taken order (when the customer
// set delayedAfter): it fires once, from when the printer took the order.
func (r *orderRun) startDelay(ctx workflow.Context) {
	l := r.life
	d := l.settings.DelayedAfter
	if d <= 0 || l.delayFired || !l.took {
		return
	}
	left := l.tookAt.Add(d).Sub(workflow.Now(ctx))
	if left <= 0 {
		l.delayDue = true
		return
	}
	tctx, stop := workflow.WithCancel(ctx)
	l.stopDelay = stop
	workflow.Go(ctx, func(gctx workflow.Context) {
		if err := workflow.NewTimer(tctx, left).Get(gctx, nil); err == nil {
			l.delayDue = true
		}
	})
}

// startHold keeps a failed order open for a resubmit until the hold ends.
func (r *orderRun) startHold(ctx workflow.Context) {
	l := r.life
	hold := l.settings.FailedHold
	if hold <= 0 {
		hold = DefaultFailedOrderHold
	}
	left := l.failedAt.Add(hold).Sub(workflow.Now(ctx))
	if left <= 0 {
		l.holdOver = true
		return
	}
	tctx, stop := workflow.WithCancel(ctx)
	l.stopHold = stop
	workflow.Go(ctx, func(gctx workflow.Context) {
		if err := workflow.NewTimer(tctx, left).Get(gctx, nil); err == nil {
			l.holdOver = true
		}
	})
}

// validateCancel refuses a cancel once the order has shipped or ended.
func (r *orderRun) validateCancel(in CancelInput) error {
	if oi.ShippedOrLater(r.status) {
		return temporal.NewApplicationError(fmt.Sprintf("order is %s; it can no longer be canceled", r.status),
			ErrCancelRefused, r.status)
	}
	return nil
}

// cancel is the cancel Update. Before the printer took the order it stops
// the submission; after, the cancel goes to the printer's cancel URL. A
// cancel that comes while another is under way gets that one's verdict.
func (r *orderRun) cancel(ctx workflow.Context, in CancelInput) (CancelResult, error) {
	l := r.life
	if op := l.canceling; op != nil {
		if err := workflow.Await(ctx, func() bool { return op.done }); err != nil {
			return CancelResult{}, err
		}
		return op.res, op.err
	}
	op := &cancelOp{}
	l.canceling = op
	op.res, op.err = r.runCancel(ctx, in)
	op.done, l.canceling = true, nil
	return op.res, op.err
}

func (r *orderRun) runCancel(ctx workflow.Context, in CancelInput) (CancelResult, error) {
	l := r.life
	lctx := workflow.WithLocalActivityOptions(ctx, localOpts)
	id := workflow.GetCurrentUpdateInfo(ctx).ID
	res := CancelResult{CancelID: id}
	if err := workflow.Await(ctx, func() bool { return l.recorded }); err != nil {
		return res, err
	}
	if r.lean {
		// The printer's first try is a local activity that starts at once
		// and is not cut short: it waits while this cancel is recorded, so
		// a cancel that came first keeps it from starting.
		l.cancelComing++
	}
	recErr := workflow.ExecuteLocalActivity(lctx, ActStartCancel, StartCancelInput{OrderID: r.in.OrderID, CancelID: id,
		RequestedAt: workflow.Now(ctx).UTC(), Cancel: in}).Get(ctx, nil)
	if r.lean {
		l.cancelComing--
	}
	if recErr != nil {
		return res, fmt.Errorf("record cancel: %w", recErr)
	}
	source := in.Source
	if source == "" {
		source = "customer"
	}
	if !l.took {
		l.cancelAsked = true
		if l.stopSubmit != nil {
			l.stopSubmit()
		}
		if err := workflow.Await(ctx, func() bool { return !l.submitting }); err != nil {
			return res, err
		}
	}
	if !l.took {
		reason := "canceled before the printer took the order; the printer was not called"
		r.setStatus(ctx, lctx, oi.EventCanceled, reason)
		r.endCancel(ctx, lctx, id, oi.CancelCanceled, reason)
		r.handle(ctx, lctx, PrinterEvent{EventID: "customer-canceled", Status: oi.EventCanceled,
			Timestamp: workflow.Now(ctx).UTC(), Message: "Canceled at the " + source + "'s request"}, "customer")
		res.Status = oi.EventCanceled
		return res, nil
	}
	// The printer took the order: the printer decides.
	l.cancelAsked = false
	var pr CancelAtPrinterResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, cancelOpts), ActCancelAtPrinter,
		CancelAtPrinterInput{OrderID: r.in.OrderID, CancelID: id}).Get(ctx, &pr)
	res.PrinterCalled = true
	if err != nil {
		var app *temporal.ApplicationError
		outcome := oi.CancelFailed
		if errors.As(err, &app) && app.Type() == ErrPrinterRejected {
			outcome = oi.CancelRefused
		}
		r.endCancel(ctx, lctx, id, outcome, failureReason("cancel did not go through", err))
		return res, err
	}
	res.PrinterStatus = pr.Status
	if oi.IsTerminal(r.status) {
		// Another path ended the order meanwhile (a printer's canceled event).
		r.endCancel(ctx, lctx, id, oi.CancelCanceled, "the order was already "+r.status)
		res.Status = r.status
		return res, nil
	}
	r.setStatus(ctx, lctx, oi.EventCanceled, "canceled at the "+source+"'s request")
	r.endCancel(ctx, lctx, id, oi.CancelCanceled, "")
	r.handle(ctx, lctx, PrinterEvent{EventID: "customer-canceled", Status: oi.EventCanceled,
		Timestamp: workflow.Now(ctx).UTC(), Message: "Canceled at the " + source + "'s request"}, "customer")
	res.Status = oi.EventCanceled
	return res, nil
}

func (r *orderRun) endCancel(ctx, lctx workflow.Context, id, outcome, reason string) {
	if err := workflow.ExecuteLocalActivity(lctx, ActEndCancel, EndCancelInput{CancelID: id, Outcome: outcome, Reason: reason}).
		Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("record cancel outcome", "orderId", r.in.OrderID, "cancelId", id, "error", err)
	}
}

// validateResubmit lets only a failed order be sent again.
func (r *orderRun) validateResubmit() error {
	if r.status != oi.EventFailed {
		return temporal.NewApplicationError(fmt.Sprintf("order is %s; only a failed order can be resubmitted", r.status),
			ErrResubmitRefused, r.status)
	}
	return nil
}

// askResubmit is the resubmit Update: the main loop starts the next try.
func (r *orderRun) askResubmit(ctx workflow.Context) (ResubmitResult, error) {
	r.life.resubmit = true
	return ResubmitResult{OrderID: r.in.OrderID, Try: r.life.try + 1}, nil
}
