package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/testenv"
	"orderintake/store"
)

// seeded is a store with one printer, intake template and customer.
func seeded(t *testing.T) (*store.Store, *testenv.Fixture) {
	t.Helper()
	st := testenv.Store(t)
	return st, testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook")
}

func insertOrder(t *testing.T, st *store.Store, fx *testenv.Fixture, ref string, at time.Time) string {
	t.Helper()
	cust := fx.Customer.ID
	id := oi.OrderID(cust, ref)
	if err := st.InsertOrderRequest(context.Background(), store.NewOrder{ID: id, CustomerID: cust, PrinterID: fx.Printer.ID,
		WorkflowID: oi.WorkflowID(cust, ref), IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: at,
		ContentType: "application/json", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := oi.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func TestDriverErrorsMapToDomainCodes(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)

	_, err := st.GetCustomer(ctx, "cus_missing")
	wantCode(t, "get a missing customer", err, oi.ENOTFOUND)
	_, err = st.GetOrderRequest(ctx, "ord_missing")
	wantCode(t, "get a missing order", err, oi.ENOTFOUND)
	_, err = st.GetPostback(ctx, "pb_missing")
	wantCode(t, "get a missing postback", err, oi.ENOTFOUND)

	// Unique reference id: a second customer with the same one conflicts.
	dup := *fx.Customer
	dup.ID = oi.NewID("cus")
	_, err = st.CreateCustomer(ctx, &dup)
	wantCode(t, "a second customer with the same referenceId", err, oi.ECONFLICT)

	// Foreign key: a customer whose printer does not exist is bad input.
	orphan := oi.Customer{ID: oi.NewID("cus"), Name: "Orphan", ReferenceID: "orphan", PrinterID: "prn_missing"}
	_, err = st.CreateCustomer(ctx, &orphan)
	wantCode(t, "a customer on a missing printer", err, oi.EINVALID)

	// NUL in text is the client's fault, not a server error.
	nul := oi.Customer{ID: oi.NewID("cus"), Name: "bad\x00name", ReferenceID: "nul"}
	_, err = st.CreateCustomer(ctx, &nul)
	wantCode(t, "a name with a NUL", err, oi.EINVALID)
}

func TestOrderPagesNeitherRepeatNorSkip(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	for i := range 7 {
		// Pairs share a received_at: the id breaks the tie, so none is lost
		// at a page boundary.
		want[insertOrder(t, st, fx, fmt.Sprintf("PAGE-%d", i), base.Add(time.Duration(i/2)*time.Minute))] = true
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		list, next, err := st.ListOrderRequests(ctx, store.ListFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if next != "" && len(list) != 3 {
			t.Fatalf("page %d has %d rows and a next cursor", pages, len(list))
		}
		for _, o := range list {
			seen = append(seen, o.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(want) {
		t.Fatalf("pages gave %d orders, want %d: %v", len(seen), len(want), seen)
	}
	got := map[string]bool{}
	for _, id := range seen {
		if got[id] || !want[id] {
			t.Fatalf("order %s repeated or unknown: %v", id, seen)
		}
		got[id] = true
	}
	// Newest first across pages.
	var prev *oi.OrderRequest
	for _, id := range seen {
		o, err := st.GetOrderRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && o.ReceivedAt.After(prev.ReceivedAt) {
			t.Fatalf("%s (%s) after older %s (%s)", o.ID, o.ReceivedAt, prev.ID, prev.ReceivedAt)
		}
		prev = o
	}

	// An exact page leaves no cursor to an empty page.
	list, next, err := st.ListOrderRequests(ctx, store.ListFilter{Limit: 7})
	if err != nil || len(list) != 7 || next != "" {
		t.Fatalf("limit 7 of 7 = %d rows, next %q, %v", len(list), next, err)
	}

	_, _, err = st.ListOrderRequests(ctx, store.ListFilter{Cursor: "not-a-cursor"})
	wantCode(t, "a forged cursor", err, oi.EINVALID)
	if e, ok := err.(*oi.Error); !ok || e.Field != "cursor" {
		t.Fatalf("forged cursor error %#v does not name the field", err)
	}
}

func TestReferenceSearchTakesWildcardsLiterally(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, ref := range []string{"A_1", "AB1", "A%2", "AX2", `A\3`, "a_1-lower"} {
		insertOrder(t, st, fx, ref, at)
	}
	refs := func(f store.ListFilter) []string {
		t.Helper()
		list, _, err := st.ListOrderRequests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range list {
			out = append(out, o.OrderReferenceID)
		}
		return out
	}
	for _, c := range []struct {
		f    store.ListFilter
		want []string
	}{
		{store.ListFilter{Reference: "A_"}, []string{"A_1"}},          // not AB1
		{store.ListFilter{Reference: "A%"}, []string{"A%2"}},          // not every A…
		{store.ListFilter{Reference: `A\`}, []string{`A\3`}},          // a backslash is a character
		{store.ListFilter{Query: "_1"}, []string{"A_1", "a_1-lower"}}, // contains, any case, _ literal
		{store.ListFilter{Query: "%"}, []string{"A%2"}},
	} {
		got := refs(c.f)
		if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(c.want)) {
			t.Errorf("filter %+v = %v, want %v", c.f, got, c.want)
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
