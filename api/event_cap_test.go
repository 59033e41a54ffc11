package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/workflows"
)

// The 201st distinct event of an order is refused with a 409 before it
// reaches the workflow (so it fires no trigger and is not recorded).
func TestPrinterEventPastTheCapIs409(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.order("CAP-1", time.Now().UTC())
	for i := range workflows.MaxOrderEvents {
		_, _, err := e.st.InsertOrderEvent(ctx, &oi.OrderEvent{OrderID: id, EventID: fmt.Sprintf("loop-%03d", i),
			Status: oi.EventInProduction, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	pk, err := e.st.CreateKey(ctx, "printer", e.fx.Printer.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, out, _, _ := e.do("POST", "/v1/printer/orders/"+id+"/events", map[string]string{"X-API-KEY": pk.Key},
		`{"eventId": "loop-200", "status": "in_production"}`)
	problemAt(t, "the 201st distinct event", st, out, 409, "eventId")
	if d, _ := out["detail"].(string); !strings.Contains(d, "200 events") {
		t.Errorf("detail = %q, want it to name the cap", d)
	}
	n, known, err := e.st.OrderEventCount(ctx, id, "loop-200")
	if err != nil || n != workflows.MaxOrderEvents || known {
		t.Fatalf("after the refusal: %d events, loop-200 recorded=%v (%v); want 200 and not recorded", n, known, err)
	}
}
