package overview_test

import (
	"context"
	"sync"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/overview"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Aggregates are served from memory for MaxAge, then refreshed once in the
// background while the last result is still served.
func TestAggregatesCachedThenRefreshed(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "https://print.example/o", "https://hooks.example/h")
	clk := &clock{t: time.Now()}
	order := func(ref string) {
		t.Helper()
		if err := st.InsertOrderRequest(ctx, store.NewOrder{ID: oi.OrderID(fx.Customer.ID, ref), CustomerID: fx.Customer.ID,
			WorkflowID: "wf", IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: clk.now().Add(-time.Minute),
			ContentType: "application/json", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &overview.Service{Store: st, MaxAge: time.Minute, Now: clk.now}
	total := func() int {
		t.Helper()
		o, err := svc.Get(ctx, overview.Day, "")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := o.Orders()
		return n
	}
	order("A")
	if n := total(); n != 1 {
		t.Fatalf("first read: %d orders, want 1", n)
	}
	order("B")
	if n := total(); n != 1 {
		t.Fatalf("within MaxAge: %d orders, want the cached 1", n)
	}
	clk.add(2 * time.Minute)
	if n := total(); n != 1 {
		t.Fatalf("past MaxAge: %d orders, want the last result (1) while it refreshes", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for total() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never served 2 orders")
		}
		time.Sleep(20 * time.Millisecond)
	}
	order("C")
	svc.Refresh()
	if n := total(); n != 3 {
		t.Fatalf("after Refresh: %d orders, want 3", n)
	}
}
