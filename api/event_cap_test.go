package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/webtest"
	"orderintake/workflows"
)

// The 201st distinct event of an order is refused with a 409 before it
// reaches the workflow (so it fires no trigger and is not recorded).
func TestPrinterEventPastTheCapIs409(t *testing.T) {
	e := webtest.New(t)
	ctx := context.Background()
	id := e.Order("CAP-1", time.Now().UTC())
	for i := range workflows.MaxOrderEvents {
		_, _, err := e.Store.InsertOrderEvent(ctx, &oi.OrderEvent{OrderID: id, EventID: fmt.Sprintf("loop-%03d", i),
			Status: oi.EventInProduction, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	pk, err := e.Store.CreateKey(ctx, "printer", e.Fx.Printer.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, out, _, _ := e.Do("POST", "/v1/printer/orders/"+id+"/events", map[string]string{"X-API-KEY": pk.Key},
		`{"eventId": "loop-200", "status": "in_production"}`)
	problemAt(t, "the 201st distinct event", st, out, 409, "eventId")
	if d, _ := out["detail"].(string); !strings.Contains(d, "200 events") {
		t.Errorf("detail = %q, want it to name the cap", d)
	}
	route, err := e.Store.GetEventRoute(ctx, id, "loop-200")
	if err != nil || route.Events != workflows.MaxOrderEvents || route.Known {
		t.Fatalf("after the refusal: %+v (%v); want 200 events and loop-200 not recorded", route, err)
	}
}
