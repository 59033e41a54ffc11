package webtest

import (
	"context"
	"fmt"
	"time"

	oi "orderintake"
)

// T0 is a fixed time tests record orders at.
var T0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// Journey records an order's four stages, its events and one postback per
// event through the seeded triggers, as the workflow would. printerStatus 0
// means the printer never answered (a network error).
func (e *Env) Journey(ref string, at time.Time, printerStatus int, events ...string) (string, []string) {
	e.T.Helper()
	ctx := context.Background()
	must := func(err error) {
		e.T.Helper()
		if err != nil {
			e.T.Fatal(err)
		}
	}
	id := e.Order(ref, at)
	out := []byte(`{"externalId": "` + ref + `", "lines": [{"sku": "MUG-WHITE", "copies": 2}]}`)
	must(e.Store.SetTemplateProcessing(ctx, id, "tpl_intake", 3, out, nil))
	must(e.Store.SetFinalRequest(ctx, id, &oi.FinalRequest{Method: "POST", URL: e.Fx.Printer.URL,
		Headers: map[string]string{"Content-Type": "application/json", "Idempotency-Key": id}, Body: out}))
	sent := at.Add(time.Second)
	resp := &oi.SystemResponse{SentAt: &sent, Status: printerStatus, LatencyMs: 120, Headers: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(`{"printerOrderId": "P-` + ref + `"}`)}
	if printerStatus == 0 {
		resp.Error, resp.Body, resp.Headers = "connect: connection refused", nil, nil
	}
	must(e.Store.SetSystemResponse(ctx, id, 1, resp))
	status := oi.StatusSubmitted
	if printerStatus == 0 || printerStatus >= 400 {
		status = oi.EventFailed
	}
	var pbs []string
	for i, ev := range events {
		rec, _, err := e.Store.InsertOrderEvent(ctx, &oi.OrderEvent{OrderID: id, EventID: fmt.Sprintf("%s-ev%d", ref, i), Status: ev,
			Source: "printer", OccurredAt: at.Add(time.Duration(i+2) * time.Minute), Accepted: true, TrackingCode: "TRK-" + ref})
		must(err)
		status = ev
		tr := e.Fx.Triggers[ev]
		if tr == nil {
			continue
		}
		pb, err := e.Store.InsertPostback(ctx, &oi.Postback{ID: oi.NewID("pbk"), OrderID: id, Event: ev, EventID: rec.EventID,
			TriggerID: tr.ID, CustomerID: e.Fx.Customer.ID, Method: oi.MethodURL, Destination: tr.URL, Format: oi.FormatJSON,
			TemplateVersion: 1, Body: []byte(`{"event": "` + ev + `", "orderReferenceId": "` + ref + `"}`), RetryOnFailure: true,
			Status: oi.PostbackPending}, rec.ID)
		must(err)
		pbs = append(pbs, pb.ID)
	}
	must(e.Store.SetOrderStatus(ctx, id, status, ""))
	return id, pbs
}

// Attempt records one delivery attempt of a postback and its new status.
func (e *Env) Attempt(pbID string, respStatus int, outcome, status string) {
	e.T.Helper()
	ctx := context.Background()
	a := &oi.PostbackAttempt{PostbackID: pbID, Trigger: "scheduled", StartedAt: time.Now().UTC(), DurationMs: 35, ResolvedIP: "127.0.0.1",
		RequestHeaders: map[string]string{"Content-Type": "application/json", "webhook-signature": "[redacted]"},
		RequestBody:    []byte(`{"event": "shipped"}`), ResponseStatus: respStatus, ResponseBody: []byte(`{"error": "down for maintenance"}`),
		Outcome: outcome}
	var next *time.Time
	if outcome == "retry" {
		n := time.Now().UTC().Add(5 * time.Minute)
		next, a.NextAttemptAt, a.ErrorKind, a.Error = &n, &n, "http", fmt.Sprintf("HTTP %d", respStatus)
	}
	if _, err := e.Store.InsertAttempt(ctx, a); err != nil {
		e.T.Fatal(err)
	}
	if err := e.Store.SetPostbackStatus(ctx, pbID, status, "", next); err != nil {
		e.T.Fatal(err)
	}
}
