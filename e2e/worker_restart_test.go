//go:build !nodev

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
)

// The worker stops mid-journey (twice): orders and events wait in Temporal,
// and when a worker is back the order completes with nothing lost and
// nothing sent twice to the printer.
func TestWorkerStoppedMidJourney(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	s := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON, oi.EventReceived, oi.EventShipped, oi.EventDelivered)

	p.stopWorker()
	st, order := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "KILL-1", "items": [{"sku": "A", "quantity": 1}]}`, nil)
	if st != 202 {
		t.Fatalf("intake with no worker running = %d %v, want 202", st, order)
	}
	id := order["id"].(string)
	time.Sleep(500 * time.Millisecond)
	if n := len(printer.Requests()); n != 0 {
		t.Fatalf("printer got %d requests with no worker", n)
	}
	p.startWorker()
	eventually(t, 20*time.Second, "the printer to get the order", func() bool { return len(printer.Requests()) == 1 })
	eventually(t, 10*time.Second, "the order to be submitted", func() bool {
		o, err := p.st.GetOrderRequest(context.Background(), id)
		return err == nil && o.Status == oi.StatusSubmitted
	})

	p.stopWorker()
	for i, ev := range []string{oi.EventReceived, oi.EventShipped, oi.EventDelivered} {
		if st, out := p.event(s.printerKey, id, map[string]any{"eventId": "k" + string(rune('0'+i)), "status": ev}); st != 202 {
			t.Fatalf("event %s while no worker = %d %v", ev, st, out)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(receiver.Requests()); n != 0 {
		t.Fatalf("receiver got %d postbacks with no worker", n)
	}
	p.startWorker()
	eventually(t, 30*time.Second, "three postbacks", func() bool { return len(receiver.Requests()) == 3 })
	if got := receiver.Events(); got[0] != "received" || got[1] != "shipped" || got[2] != "delivered" {
		t.Fatalf("postbacks %v, want in event order", got)
	}
	eventually(t, 10*time.Second, "the order to be delivered", func() bool {
		o, err := p.st.GetOrderRequest(context.Background(), id)
		return err == nil && o.Status == oi.EventDelivered
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(printer.Requests()); n != 1 {
		t.Fatalf("printer got %d requests, want exactly 1", n)
	}
	if n := len(receiver.Requests()); n != 3 {
		t.Fatalf("receiver got %d postbacks, want exactly 3", n)
	}
}
