package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	oi "orderintake"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/service"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func lifeWorld(t *testing.T) (*store.Store, *testenv.Fixture, *service.OrderLife) {
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook")
	return st, fx, service.NewOrderLife(nil, st, mapper.NewEngine(mapper.Options{}), nil)
}

func insertOrder(t *testing.T, st *store.Store, customerID, ref, status string, at time.Time) string {
	t.Helper()
	ctx := context.Background()
	id := oi.OrderID(customerID, ref)
	if err := st.InsertOrderRequest(ctx, store.NewOrder{ID: id, CustomerID: customerID, WorkflowID: oi.WorkflowID(customerID, ref),
		IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: at, ContentType: "application/json", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetOrderStatus(ctx, id, status, ""); err != nil {
		t.Fatal(err)
	}
	return id
}

// A customer's search lists its own orders only (not another customer's,
// not requests refused at intake), filtered, newest first, in keyset pages
// that neither repeat nor skip.
func TestSearchOrdersOwnOrdersInKeysetPages(t *testing.T) {
	st, fx, life := lifeWorld(t)
	ctx := context.Background()
	other, err := st.CreateCustomer(ctx, &oi.Customer{ID: oi.NewID("cus"), Name: "Other", ReferenceID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var want []string
	for i := 0; i < 7; i++ {
		status := oi.StatusSubmitted
		if i%3 == 0 {
			status = oi.EventFailed
		}
		want = append(want, insertOrder(t, st, fx.Customer.ID, fmt.Sprintf("SHOP-%02d", i), status, base.Add(time.Duration(i)*time.Minute)))
	}
	insertOrder(t, st, other.ID, "SHOP-99", oi.StatusSubmitted, base)
	if err := st.InsertRejectedRequest(ctx, store.RejectedRequest{ID: oi.NewID("ord"), CustomerID: fx.Customer.ID,
		ReceivedAt: base.Add(time.Hour), Reason: "malformed", Problem: map[string]any{"status": 400}}); err != nil {
		t.Fatal(err)
	}

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := life.SearchOrders(ctx, fx.Customer.ID, service.OrderSearch{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got = append(got, it.ID)
			if it.Links.Self != "/v1/orders/"+it.ID {
				t.Fatalf("links = %+v", it.Links)
			}
		}
		if page.NextCursor == "" {
			if pages != 2 {
				t.Fatalf("%d pages of 3 for 7 orders, want 3", pages+1)
			}
			break
		}
		cursor = page.NextCursor
	}
	if len(got) != 7 {
		t.Fatalf("search listed %d orders %v, want the customer's 7 (not the other's, not the rejected request)", len(got), got)
	}
	for i, id := range got {
		if id != want[6-i] {
			t.Fatalf("order %d = %s, want %s (newest first)", i, id, want[6-i])
		}
	}

	failed, err := life.SearchOrders(ctx, fx.Customer.ID, service.OrderSearch{Status: oi.EventFailed})
	if err != nil || len(failed.Items) != 3 {
		t.Fatalf("status=failed: %v %+v, want 3", err, failed)
	}
	ref, err := life.SearchOrders(ctx, fx.Customer.ID, service.OrderSearch{Reference: "SHOP-04"})
	if err != nil || len(ref.Items) != 1 || ref.Items[0].OrderReferenceID != "SHOP-04" {
		t.Fatalf("reference=SHOP-04: %v %+v", err, ref)
	}
	window, err := life.SearchOrders(ctx, fx.Customer.ID, service.OrderSearch{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute)})
	if err != nil || len(window.Items) != 2 {
		t.Fatalf("window: %v %+v, want 2", err, window)
	}
	if _, err := life.SearchOrders(ctx, fx.Customer.ID, service.OrderSearch{Status: "teleported"}); oi.ErrorCode(err) != oi.EINVALID {
		t.Fatalf("unknown status: %v, want invalid", err)
	}
	if _, err := life.SearchOrders(ctx, fx.Customer.ID, service.OrderSearch{Cursor: "nonsense"}); oi.ErrorCode(err) != oi.EINVALID {
		t.Fatalf("bad cursor: %v, want invalid", err)
	}
}

// A submit response template answers in the merchant's XML, problems
// included; a failing one falls back (false) and is counted.
func TestResponseTemplateRendersXMLAndFallsBackCounted(t *testing.T) {
	st, fx, life := lifeWorld(t)
	ctx := context.Background()
	tpl, err := st.CreateTemplate(ctx, &oi.Template{ID: oi.NewID("tpl"), Name: "answer", Kind: oi.KindSubmitResponse, Format: oi.FormatXML,
		Body: `<answer code="{{ status }}">{% if error %}<problem>{{ error.detail }}</problem>{% else %}<order id="{{ order.id }}">{{ order.status }}</order>{% endif %}</answer>`})
	if err != nil {
		t.Fatal(err)
	}
	fx.Customer.SubmitResponseTemplateID = tpl.ID
	if _, err := st.UpdateCustomer(ctx, fx.Customer); err != nil {
		t.Fatal(err)
	}
	ok202, ok := life.Respond(ctx, fx.Customer.ID, oi.KindSubmitResponse, 202,
		&service.AnswerOrder{ID: "ord_1", Status: "accepted", Links: map[string]string{"self": "/v1/orders/ord_1"}}, nil)
	if !ok || !strings.HasPrefix(ok202.ContentType, "application/xml") || string(ok202.Body) != `<answer code="202"><order id="ord_1">accepted</order></answer>` {
		t.Fatalf("202 answer = %+v %v", ok202, ok)
	}
	bad, ok := life.Respond(ctx, fx.Customer.ID, oi.KindSubmitResponse, 422, nil, map[string]any{"detail": "items < 1", "field": "items"})
	if !ok || string(bad.Body) != `<answer code="422"><problem>items &lt; 1</problem></answer>` {
		t.Fatalf("422 answer = %q %v", bad.Body, ok)
	}
	if _, ok := life.Respond(ctx, fx.Customer.ID, oi.KindCancelResponse, 200, nil, nil); ok {
		t.Fatal("a customer without a cancel response template got a rendered answer")
	}
	tpl.Body = `<answer>{{ nosuchfunction() }}</answer>`
	if _, err := st.UpdateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	if _, ok := life.Respond(ctx, fx.Customer.ID, oi.KindSubmitResponse, 202, &service.AnswerOrder{ID: "ord_1"}, nil); ok {
		t.Fatal("a failing response template did not fall back")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(life.Fallbacks)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 || mfs[0].GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Fatalf("fallbacks counted %v (%v), want one submit_response fallback", mfs, err)
	}
}
