package store_test

import (
	"context"
	"fmt"
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

// A delivery's one read carries the trigger as GetTrigger reads it and the
// secrets that sign now (TriggerSecrets: the previous one within its grace).
func TestLoadDeliveryReadsTriggerAndSecrets(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped)
	id := insertOrder(t, st, fx, "DELIVERY-1", time.Now())
	tr := fx.Triggers[oi.EventShipped]
	pb := &oi.Postback{ID: oi.NewID("pb"), OrderID: id, Event: oi.EventShipped, EventID: "e1", TriggerID: tr.ID,
		CustomerID: fx.Customer.ID, Method: oi.MethodURL, Destination: tr.Destination(), Format: oi.FormatJSON,
		Body: []byte(`{"a":1}`), RetryOnFailure: true, Status: oi.PostbackPending}
	ev := &oi.OrderEvent{OrderID: id, EventID: "e1", Status: oi.EventShipped, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true}
	if _, _, _, err := st.RecordEventWithPostbacks(ctx, ev, true, []*oi.Postback{pb}); err != nil {
		t.Fatal(err)
	}
	if err := st.RotateTriggerSecret(ctx, tr.ID, []byte("sealed-new"), time.Hour); err != nil {
		t.Fatal(err)
	}
	d, err := st.LoadDelivery(ctx, pb.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.GetTrigger(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Trigger == nil || fmt.Sprintf("%+v", *d.Trigger) != fmt.Sprintf("%+v", *want) {
		t.Fatalf("delivery's trigger = %+v, want %+v", d.Trigger, want)
	}
	secrets, err := st.TriggerSecrets(ctx, tr.ID)
	if err != nil || len(secrets) != 2 || len(d.Secrets) != 2 || string(d.Secrets[0]) != "sealed-new" ||
		string(d.Secrets[1]) != string(secrets[1]) {
		t.Fatalf("delivery's secrets = %q, want the new one then the previous one %q (%v)", d.Secrets, secrets, err)
	}
	got, err := st.GetPostback(ctx, pb.ID)
	if err != nil || fmt.Sprintf("%+v", *d.Postback) != fmt.Sprintf("%+v", *got) || d.Series != 0 || d.Base != 0 {
		t.Fatalf("delivery's postback = %+v (series %d, base %d), want %+v (%v)", d.Postback, d.Series, d.Base, got, err)
	}
}
