package store_test

import (
	"context"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
	"orderintake/store"
)

// A success ends the subject's streak and closes its open incident in one
// call; only the first success after a failure run gets the incident back.
func TestRecordAlertSuccessResetsAndRecoversOnce(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	for range 3 {
		if _, err := st.AddAlertFailure(ctx, store.AlertTrigger, "trg_s", "receiver answered 500"); err != nil {
			t.Fatal(err)
		}
	}
	opened, _, err := st.OpenIncident(ctx, &store.Incident{SubjectKind: store.AlertTrigger, SubjectID: "trg_s",
		Cause: store.CauseConsecutive, Reason: "3 failures in a row"})
	if err != nil {
		t.Fatal(err)
	}
	inc, closed, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s")
	if err != nil || !closed || inc.ID != opened.ID || inc.RecoveredAt == nil {
		t.Fatalf("first success = %+v closed=%v err=%v; want incident %s recovered", inc, closed, err, opened.ID)
	}
	if inc, closed, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s"); err != nil || closed || inc != nil {
		t.Fatalf("second success = %+v closed=%v err=%v; want nothing to recover", inc, closed, err)
	}
	// The streak was reset: the next failure counts from one.
	if n, err := st.AddAlertFailure(ctx, store.AlertTrigger, "trg_s", "again"); err != nil || n != 1 {
		t.Fatalf("failures after the success = %d (%v), want 1", n, err)
	}
	// Another subject's streak is left alone.
	if _, err := st.AddAlertFailure(ctx, store.AlertPrinter, "prn_x", "down"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.AddAlertFailure(ctx, store.AlertPrinter, "prn_x", "down"); err != nil || n != 2 {
		t.Fatalf("printer failures = %d (%v), want 2: a trigger's success reset a printer's streak", n, err)
	}
}

// The printer-events route's one read: the order's routing fields with its
// event count (rejected events count too) and whether the event is known.
func TestGetEventRouteCountsEvents(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	id := insertOrder(t, st, fx, "ROUTE-1", time.Now())
	r, err := st.GetEventRoute(ctx, id, "e1")
	if err != nil || r.ID != id || r.CustomerID != fx.Customer.ID || r.PrinterID != fx.Printer.ID ||
		r.WorkflowID != oi.WorkflowID(fx.Customer.ID, "ROUTE-1") || r.Status != oi.StatusAccepted || r.Events != 0 || r.Known {
		t.Fatalf("route of a fresh order = %+v, %v", r, err)
	}
	for _, e := range []*oi.OrderEvent{
		{OrderID: id, EventID: "e1", Status: oi.EventReceived, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true},
		{OrderID: id, EventID: "e2", Status: oi.EventShipped, Source: "printer", OccurredAt: time.Now().UTC(), RejectReason: "late"},
	} {
		if _, _, err := st.InsertOrderEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	other := insertOrder(t, st, fx, "ROUTE-2", time.Now())
	if _, _, err := st.InsertOrderEvent(ctx, &oi.OrderEvent{OrderID: other, EventID: "e3", Status: oi.EventReceived,
		Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true}); err != nil {
		t.Fatal(err)
	}
	if r, err := st.GetEventRoute(ctx, id, "e2"); err != nil || r.Events != 2 || !r.Known {
		t.Fatalf("route for a known event = %+v, %v; want 2 events, known", r, err)
	}
	if r, err := st.GetEventRoute(ctx, id, "e3"); err != nil || r.Events != 2 || r.Known {
		t.Fatalf("route for another order's event = %+v, %v; want 2 events, not known", r, err)
	}
	_, err = st.GetEventRoute(ctx, "ord_missing", "e1")
	wantCode(t, "route of a missing order", err, oi.ENOTFOUND)
}
