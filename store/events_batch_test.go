package store_test

import (
	"context"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
)

// The event's one write: event, status and postbacks together; a repeat
// writes nothing again and answers what is stored.
func TestRecordEventWithPostbacksWritesOnce(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped)
	id := insertOrder(t, st, fx, "BATCH-1", time.Now())
	tr := fx.Triggers[oi.EventShipped]
	ev := &oi.OrderEvent{OrderID: id, EventID: "e1", Status: oi.EventShipped, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true}
	pb := func() *oi.Postback {
		return &oi.Postback{ID: oi.NewID("pb"), OrderID: id, Event: oi.EventShipped, EventID: "e1", TriggerID: tr.ID,
			CustomerID: fx.Customer.ID, Method: oi.MethodURL, Destination: tr.Destination(), Format: oi.FormatJSON,
			Body: []byte(`{}`), RetryOnFailure: true, Status: oi.PostbackPending}
	}
	first := pb()
	out, inserted, stored, err := st.RecordEventWithPostbacks(ctx, ev, true, []*oi.Postback{first})
	if err != nil || !inserted || len(stored) != 1 || stored[0].ID != first.ID || out.ID == 0 {
		t.Fatalf("first record = %+v inserted=%v postbacks=%+v err=%v", out, inserted, stored, err)
	}
	o, err := st.GetOrderRequest(ctx, id)
	if err != nil || o.Status != oi.EventShipped {
		t.Fatalf("order status = %v (%v), want shipped", o.Status, err)
	}
	again, inserted, stored2, err := st.RecordEventWithPostbacks(ctx, ev, true, []*oi.Postback{pb()})
	if err != nil || inserted || again.ID != out.ID || len(stored2) != 1 || stored2[0].ID != first.ID {
		t.Fatalf("repeat = %+v inserted=%v postbacks=%+v err=%v; want the first event and postback", again, inserted, stored2, err)
	}
	pbs, err := st.ListOrderPostbacks(ctx, id)
	if err != nil || len(pbs) != 1 {
		t.Fatalf("%d postbacks stored (%v), want 1", len(pbs), err)
	}

	// One attempt at it: recorded with the postback's new state in one go.
	d, err := st.LoadDelivery(ctx, first.ID)
	if err != nil || d.Postback.ID != first.ID || d.Trigger == nil || d.Trigger.ID != tr.ID || len(d.Secrets) != 1 || d.Series != 0 {
		t.Fatalf("delivery = %+v, %v", d, err)
	}
	next := time.Now().Add(5 * time.Second).UTC()
	att, err := st.RecordAttempt(ctx, &oi.PostbackAttempt{PostbackID: first.ID, Trigger: "scheduled", StartedAt: time.Now().UTC(),
		Outcome: "retry", ErrorKind: "http", ResponseStatus: 503, NextAttemptAt: &next}, oi.PostbackPending, "HTTP 503", &next)
	if err != nil || att.Attempt != 1 {
		t.Fatalf("attempt = %+v, %v", att, err)
	}
	p, err := st.GetPostback(ctx, first.ID)
	if err != nil || p.Attempts != 1 || p.Status != oi.PostbackPending || p.StatusReason != "HTTP 503" || p.NextAttemptAt == nil {
		t.Fatalf("postback after the attempt = %+v, %v", p, err)
	}
	if _, err := st.LoadDelivery(ctx, "pb_missing"); oi.ErrorCode(err) != oi.ENOTFOUND {
		t.Fatalf("a missing postback = %v, want not found", err)
	}
}
