package impact_test

import (
	"context"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/impact"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPreviewOverRealOrders(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "https://print.example/o", "https://hooks.example/h")
	bodies := map[string]string{
		"A": `{"orderReferenceId": "A", "note": "gift", "items": [{"sku": "x", "quantity": 1}]}`,
		"B": `{"orderReferenceId": "B", "items": [{"sku": "y", "quantity": 2}]}`,
		"C": `{"orderReferenceId": "C", "items": []}`,
	}
	at := time.Now().Add(-time.Hour)
	for _, ref := range []string{"A", "B", "C"} {
		at = at.Add(time.Minute)
		if err := st.InsertOrderRequest(ctx, store.NewOrder{ID: oi.OrderID(fx.Customer.ID, ref), CustomerID: fx.Customer.ID,
			WorkflowID: "wf-" + ref, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: at, ContentType: "application/json",
			Body: []byte(bodies[ref])}); err != nil {
			t.Fatal(err)
		}
	}
	tpl, err := st.GetTemplate(ctx, fx.Customer.IntakeTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	run := func(body string, strict bool) *impact.Report {
		t.Helper()
		rep, err := impact.Run(ctx, st, mapper.NewEngine(mapper.Options{}), impact.Request{Template: tpl, CustomerID: fx.Customer.ID,
			Draft: mapper.Template{Format: mapper.FormatJSON, Body: body, Strict: strict}})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	rep := run(testenv.IntakeJSON, false)
	if len(rep.Items) != 3 || rep.Counts[impact.Same] != 3 || rep.Inputs != "orders" {
		t.Fatalf("the stored body as draft: %+v", rep)
	}
	if rep.Items[0].OrderReferenceID != "C" {
		t.Errorf("items not newest first: %s first", rep.Items[0].OrderReferenceID)
	}

	// Strict and reading note: A (has a note) changes, B and C fail.
	draft := strings.TrimSuffix(testenv.IntakeJSON, "}") + `, "note": "{{ note }}"}`
	rep = run(draft, true)
	got := map[string]impact.Item{}
	for _, it := range rep.Items {
		got[it.OrderReferenceID] = it
	}
	if a := got["A"]; a.Outcome != impact.Changed || !strings.Contains(a.After, `"note": "gift"`) || len(a.Diff) == 0 {
		t.Errorf("A = %+v, want changed with the note in the output and a diff", a)
	}
	changedRows := 0
	for _, r := range got["A"].Diff {
		if r.Op != "same" {
			changedRows++
		}
	}
	if changedRows == 0 || changedRows > 2 {
		t.Errorf("A's diff marks %d rows, want the end of the object only: %+v", changedRows, got["A"].Diff)
	}
	for _, ref := range []string{"B", "C"} {
		if it := got[ref]; it.Outcome != impact.NowFailing || !strings.Contains(it.Error, "note") || it.Line != 1 {
			t.Errorf("%s = %+v, want now failing on note, line 1", ref, it)
		}
	}
	if rep.Counts[impact.Changed] != 1 || rep.Counts[impact.NowFailing] != 2 {
		t.Errorf("counts = %v", rep.Counts)
	}
}

func TestSideBySide(t *testing.T) {
	rows := impact.SideBySide("a\nb\nc\nd", "a\nB\nc\nd\ne")
	var ops []string
	for _, r := range rows {
		ops = append(ops, r.Op)
	}
	if strings.Join(ops, " ") != "same change same same add" || rows[1].Left != "b" || rows[1].Right != "B" || rows[4].RightNo != 5 {
		t.Errorf("rows = %+v", rows)
	}
}
