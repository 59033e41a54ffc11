//go:build !nodev

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
	"orderintake/workflows"
)

// hangBound is what the hang test allows another destination's postback
// after its event was posted: the first try's cap (workflows.FirstTryCap,
// 2 s: how long a hanging receiver can hold the order's workflow task) and
// one more second for the workflow task round trips on a loaded machine.
const hangBound = workflows.FirstTryCap + time.Second

// A receiver that hangs 30 s on one destination holds the order's workflow
// task for at most the first try's cap: the order's other destination gets
// every postback within hangBound of its event, in event order, while the
// hanging destination's first attempt is recorded as a timeout and its
// postback goes on as a regular activity on the schedule (visible in the
// Web UI as a pending activity).
func TestHangingDestinationDelaysAnotherByAtMostTheCap(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	fast := testenv.NewServer(t)
	hang := testenv.NewServer(t)
	hang.Default = http.StatusServiceUnavailable
	release := make(chan struct{})
	hang.Hold = func() {
		select {
		case <-time.After(30 * time.Second):
		case <-release:
		}
	}
	// Cleanups run last-in first-out: this one, registered after the
	// product's, lets the hanging requests go before the workflows are
	// ended and the worker stops.
	t.Cleanup(func() { close(release) })

	events := []string{oi.EventReceived, oi.EventInProduction, oi.EventShipped}
	s := p.configure(printer.URL, fast.URL, "json", testenv.IntakeJSON, events...)
	hook := p.template(map[string]any{"name": "hook (hanging receiver)", "kind": "webhook", "format": "json", "body": testenv.WebhookJSON})
	for _, ev := range events {
		p.trigger(map[string]any{"customerId": s.customerID, "name": ev + " (hangs)", "event": ev, "method": "url",
			"templateId": hook, "format": "json", "url": hang.URL})
	}
	id := p.placeOrder(s, printer, "HANG-1")

	// The events back to back: the second and third come while the first
	// try at the hanging destination holds the workflow task.
	posted := map[string]time.Time{}
	for i, ev := range events {
		if st, out := p.event(s.printerKey, id, map[string]any{"eventId": fmt.Sprintf("hang-%d", i), "status": ev}); st != http.StatusAccepted {
			t.Fatalf("event %s = %d %v", ev, st, out)
		}
		posted[ev] = time.Now()
	}
	eventually(t, 20*time.Second, "the healthy destination to get 3 postbacks", func() bool { return len(fast.Requests()) == 3 })
	var got []string
	for _, r := range fast.Requests() {
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("postback body %s: %v", r.Body, err)
		}
		ev := body["event"]
		got = append(got, ev)
		lag := r.At.Sub(posted[ev])
		t.Logf("%s reached the healthy destination %v after it was posted", ev, lag.Round(time.Millisecond))
		if lag > hangBound {
			t.Errorf("%s reached the healthy destination %v after it was posted, want at most %v while the other destination hangs",
				ev, lag.Round(time.Millisecond), hangBound)
		}
	}
	if strings.Join(got, ",") != strings.Join(events, ",") {
		t.Fatalf("healthy destination got %v, want %v in event order", got, events)
	}

	// The hanging destination: its first attempt ended by the first try's
	// own deadline and was recorded; the postback stays pending on the
	// schedule, its later postbacks queued behind it.
	var first *oi.Postback
	pbs, err := p.st.ListOrderPostbacks(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range pbs {
		if pb.Destination == hang.URL && pb.Event == oi.EventReceived {
			first = pb
		}
	}
	if first == nil || first.Status != oi.PostbackPending || first.NextAttemptAt == nil {
		t.Fatalf("the hanging destination's first postback is %+v, want pending with a next attempt", first)
	}
	atts, err := p.st.ListAttempts(context.Background(), first.ID)
	if err != nil || len(atts) == 0 {
		t.Fatalf("attempts of %s: %v %v", first.ID, atts, err)
	}
	a := atts[0]
	if a.ErrorKind != "timeout" || a.Outcome != "retry" || time.Duration(a.DurationMs)*time.Millisecond > workflows.FirstTryCap {
		t.Fatalf("first attempt = %s %s after %d ms, want a timeout within the cap %v", a.Outcome, a.ErrorKind, a.DurationMs, workflows.FirstTryCap)
	}
	// Its retry runs as the regular activity (the schedule's 5 s first):
	// the Web UI shows it pending, with its attempt count.
	wfID := oi.WorkflowID(s.customerID, "HANG-1")
	eventually(t, 15*time.Second, "the retry to show as a pending activity", func() bool {
		d, err := p.tc.DescribeWorkflowExecution(context.Background(), wfID, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == workflows.ActDeliverPostback {
				return true
			}
		}
		return false
	})
	if n := len(hang.Requests()); n > 2 {
		t.Fatalf("the hanging destination got %d requests; its later postbacks must wait behind the first", n)
	}
}

// A first try that fails goes on as the regular activity: the printer's 503
// and a receiver's 503 are each retried by the activity, with the attempt
// numbers following the first try's, and the order ends delivered. Its
// history (the new shape with both fallbacks) replays on today's code; with
// SAVE_REPLAY_HISTORY=order_history_fewer_round_trips.json it is kept as
// workflows/testdata/order_history_fewer_round_trips.json.
func TestFirstTryFallbacksKeepScheduleAndReplay(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t, http.StatusServiceUnavailable)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t, http.StatusServiceUnavailable)
	events := []string{oi.EventReceived, oi.EventShipped, oi.EventDelivered}
	s := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON, events...)
	st, out := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "FALLBACK-1", "items": [{"sku": "MUG", "quantity": 1}]}`, nil)
	if st != http.StatusAccepted {
		t.Fatalf("submit = %d %v", st, out)
	}
	id := out["id"].(string)
	eventually(t, 20*time.Second, "the printer to take the order on its second try", func() bool { return len(printer.Requests()) == 2 })
	for _, r := range printer.Requests() {
		if k := r.Header.Get("Idempotency-Key"); k != id {
			t.Fatalf("printer try with Idempotency-Key %q, want the order id %q on every try", k, id)
		}
	}
	p.waitStatus(s.customerKey, id, oi.StatusSubmitted)
	o, err := p.st.GetOrderRequest(context.Background(), id)
	if err != nil || o.Response == nil || o.Response.Attempts != 2 || o.Response.Status != http.StatusCreated {
		t.Fatalf("system response = %+v %v, want the printer's 201 on attempt 2", o.Response, err)
	}
	for i, ev := range events {
		if st, out := p.event(s.printerKey, id, map[string]any{"eventId": fmt.Sprintf("fb-%d", i), "status": ev}); st != http.StatusAccepted {
			t.Fatalf("event %s = %d %v", ev, st, out)
		}
	}
	// received fails its first try (503): 5 s later the activity delivers
	// it, then shipped and delivered follow in order.
	eventually(t, 30*time.Second, "4 webhooks", func() bool { return len(receiver.Requests()) == 4 })
	var got []string
	for _, r := range receiver.Requests() {
		var body map[string]string
		_ = json.Unmarshal(r.Body, &body)
		got = append(got, body["event"])
	}
	if strings.Join(got, ",") != "received,received,shipped,delivered" {
		t.Fatalf("receiver got %v, want received twice (503, then delivered), then shipped and delivered", got)
	}
	reqs := receiver.Requests()
	if reqs[0].Header.Get("webhook-id") != reqs[1].Header.Get("webhook-id") {
		t.Fatalf("the retry's webhook-id %q differs from the first try's %q", reqs[1].Header.Get("webhook-id"), reqs[0].Header.Get("webhook-id"))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 4*time.Second || gap > 7*time.Second {
		t.Fatalf("the retry came %v after the first try, want the schedule's 5 s ±20 %%", gap)
	}
	wfID := oi.WorkflowID(s.customerID, "FALLBACK-1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.tc.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		t.Fatalf("order workflow: %v", err)
	}
	pbs, err := p.st.ListOrderPostbacks(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range pbs {
		atts, err := p.st.ListAttempts(context.Background(), pb.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if pb.Event == oi.EventReceived {
			want = 2
		}
		if pb.Status != oi.PostbackDelivered || len(atts) != want {
			t.Fatalf("postback %s is %s with %d attempts, want delivered after %d", pb.Event, pb.Status, len(atts), want)
		}
		for i, a := range atts {
			if a.Attempt != i+1 || a.Trigger != "scheduled" {
				t.Fatalf("attempt %d of %s = #%d %s", i+1, pb.Event, a.Attempt, a.Trigger)
			}
		}
	}
	replayHistory(t, p, wfID, "order_history_fewer_round_trips.json")
}
