package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
	"orderintake/internal/testenv"
	"orderintake/store"
)

// A success ends the subject's streak and closes its open incident in one
// call; only the first success after a failure run gets the incident back.
func TestRecordAlertSuccessResetsAndRecoversOnce(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	for range 3 {
		if _, err := st.AddAlertFailure(ctx, store.AlertTrigger, "trg_s", "receiver answered 500"); err != nil {
			t.Fatal(err)
		}
	}
	opened, _, err := st.OpenIncident(ctx, &store.Incident{SubjectKind: store.AlertTrigger, SubjectID: "trg_s",
		Cause: store.CauseConsecutive, Reason: "3 failures in a row"})
	if err != nil {
		t.Fatal(err)
	}
	inc, closed, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s")
	if err != nil || !closed || inc.ID != opened.ID || inc.RecoveredAt == nil {
		t.Fatalf("first success = %+v closed=%v err=%v; want incident %s recovered", inc, closed, err, opened.ID)
	}
	if inc, closed, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s"); err != nil || closed || inc != nil {
		t.Fatalf("second success = %+v closed=%v err=%v; want nothing to recover", inc, closed, err)
	}
	// The streak was reset: the next failure counts from one.
	if n, err := st.AddAlertFailure(ctx, store.AlertTrigger, "trg_s", "again"); err != nil || n != 1 {
		t.Fatalf("failures after the success = %d (%v), want 1", n, err)
	}
	// Another subject's streak is left alone.
	if _, err := st.AddAlertFailure(ctx, store.AlertPrinter, "prn_x", "down"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.AddAlertFailure(ctx, store.AlertPrinter, "prn_x", "down"); err != nil || n != 2 {
		t.Fatalf("printer failures = %d (%v), want 2: a trigger's success reset a printer's streak", n, err)
	}
}

// The printer-events route's one read: the order's routing fields with its
// event count (rejected events count too) and whether the event is known.
func TestGetEventRouteCountsEvents(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	id := insertOrder(t, st, fx, "ROUTE-1", time.Now())
	r, err := st.GetEventRoute(ctx, id, "e1")
	if err != nil || r.ID != id || r.CustomerID != fx.Customer.ID || r.PrinterID != fx.Printer.ID ||
		r.WorkflowID != oi.WorkflowID(fx.Customer.ID, "ROUTE-1") || r.Status != oi.StatusAccepted || r.Events != 0 || r.Known {
		t.Fatalf("route of a fresh order = %+v, %v", r, err)
	}
	for _, e := range []*oi.OrderEvent{
		{OrderID: id, EventID: "e1", Status: oi.EventReceived, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true},
		{OrderID: id, EventID: "e2", Status: oi.EventShipped, Source: "printer", OccurredAt: time.Now().UTC(), RejectReason: "late"},
	} {
		if _, _, err := st.InsertOrderEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	other := insertOrder(t, st, fx, "ROUTE-2", time.Now())
	if _, _, err := st.InsertOrderEvent(ctx, &oi.OrderEvent{OrderID: other, EventID: "e3", Status: oi.EventReceived,
		Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true}); err != nil {
		t.Fatal(err)
	}
	if r, err := st.GetEventRoute(ctx, id, "e2"); err != nil || r.Events != 2 || !r.Known {
		t.Fatalf("route for a known event = %+v, %v; want 2 events, known", r, err)
	}
	if r, err := st.GetEventRoute(ctx, id, "e3"); err != nil || r.Events != 2 || r.Known {
		t.Fatalf("route for another order's event = %+v, %v; want 2 events, not known", r, err)
	}
	_, err = st.GetEventRoute(ctx, "ord_missing", "e1")
	wantCode(t, "route of a missing order", err, oi.ENOTFOUND)
}

// A delivery's one read carries the trigger as GetTrigger reads it and the
// secrets that sign now (TriggerSecrets: the previous one within its grace).
func TestLoadDeliveryReadsTriggerAndSecrets(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped)
	id := insertOrder(t, st, fx, "DELIVERY-1", time.Now())
	tr := fx.Triggers[oi.EventShipped]
	pb := &oi.Postback{ID: oi.NewID("pb"), OrderID: id, Event: oi.EventShipped, EventID: "e1", TriggerID: tr.ID,
		CustomerID: fx.Customer.ID, Method: oi.MethodURL, Destination: tr.Destination(), Format: oi.FormatJSON,
		Body: []byte(`{"a":1}`), RetryOnFailure: true, Status: oi.PostbackPending}
	ev := &oi.OrderEvent{OrderID: id, EventID: "e1", Status: oi.EventShipped, Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true}
	if _, _, _, err := st.RecordEventWithPostbacks(ctx, ev, true, []*oi.Postback{pb}); err != nil {
		t.Fatal(err)
	}
	if err := st.RotateTriggerSecret(ctx, tr.ID, []byte("sealed-new"), time.Hour); err != nil {
		t.Fatal(err)
	}
	d, err := st.LoadDelivery(ctx, pb.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.GetTrigger(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Trigger == nil || fmt.Sprintf("%+v", *d.Trigger) != fmt.Sprintf("%+v", *want) {
		t.Fatalf("delivery's trigger = %+v, want %+v", d.Trigger, want)
	}
	secrets, err := st.TriggerSecrets(ctx, tr.ID)
	if err != nil || len(secrets) != 2 || len(d.Secrets) != 2 || string(d.Secrets[0]) != "sealed-new" ||
		string(d.Secrets[1]) != string(secrets[1]) {
		t.Fatalf("delivery's secrets = %q, want the new one then the previous one %q (%v)", d.Secrets, secrets, err)
	}
	got, err := st.GetPostback(ctx, pb.ID)
	if err != nil || fmt.Sprintf("%+v", *d.Postback) != fmt.Sprintf("%+v", *got) || d.Series != 0 || d.Base != 0 {
		t.Fatalf("delivery's postback = %+v (series %d, base %d), want %+v (%v)", d.Postback, d.Series, d.Base, got, err)
	}
}

// same is a field-by-field comparison through %+v (times, maps and nil
// slices included), for rows read two ways.
func same(a, b any) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }

// The intake stage's one read: the original request, the customer, its
// intake template at the current version and its lookup tables, as the
// single reads give them; what is missing is nil.
func TestGetTemplateSources(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	id := insertOrder(t, st, fx, "TPL-1", time.Now())
	tpl, err := st.UpdateTemplate(ctx, &oi.Template{ID: fx.Customer.IntakeTemplateID, Name: "intake", Format: oi.FormatJSON,
		Body: `{"v": 2, "s": "\u00e9 \" {{ order.x }}"}`, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutLookup(ctx, &oi.LookupTable{ID: oi.NewID("lku"), CustomerID: fx.Customer.ID, Name: "sku",
		Default: "?", Rows: map[string]string{"A": "1", "B \"q\"": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutLookup(ctx, &oi.LookupTable{ID: oi.NewID("lku"), CustomerID: fx.Customer.ID, Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	src, err := st.GetTemplateSources(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := st.GetOrderRequest(ctx, id)
	if src.Order.ID != id || src.Order.CustomerID != fx.Customer.ID || !src.Order.ReceivedAt.Equal(o.ReceivedAt) ||
		!same(src.Order.Original, o.Original) {
		t.Errorf("order = %+v, want the original request of %+v", src.Order, o)
	}
	c := src.Customer
	if c == nil || c.ID != fx.Customer.ID || c.Name != fx.Customer.Name || c.ReferenceID != fx.Customer.ReferenceID ||
		c.IntakeTemplateID != fx.Customer.IntakeTemplateID {
		t.Errorf("customer = %+v, want %+v", c, fx.Customer)
	}
	if src.Template == nil || src.Template.Version != 2 || src.Template.Body != tpl.Body || !src.Template.Strict ||
		src.Template.ID != tpl.ID || src.Template.Format != tpl.Format || !src.Template.UpdatedAt.Equal(tpl.UpdatedAt) {
		t.Errorf("template = %+v, want %+v", src.Template, tpl)
	}
	want, err := st.ListLookups(ctx, fx.Customer.ID)
	if err != nil || len(src.Lookups) != 2 || len(want) != 2 {
		t.Fatalf("lookups = %+v, want %+v (%v)", src.Lookups, want, err)
	}
	for i := range want {
		g, w := src.Lookups[i], want[i]
		if g.ID != w.ID || g.Name != w.Name || g.Default != w.Default || !same(g.Rows, w.Rows) || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("lookup %d = %+v, want %+v", i, g, w)
		}
	}

	// A customer without an intake template, then a missing customer, then a missing order.
	bare, err := st.CreateCustomer(ctx, &oi.Customer{ID: oi.NewID("cus"), Name: "Bare", ReferenceID: "bare-" + oi.NewID("r")})
	if err != nil {
		t.Fatal(err)
	}
	ref := oi.NewID("ref")
	bareOrder := oi.OrderID(bare.ID, ref)
	orphan := oi.OrderID("cus_gone", ref)
	for _, o := range []store.NewOrder{
		{ID: bareOrder, CustomerID: bare.ID, WorkflowID: "wf-" + ref, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now(), ContentType: "application/json", Body: []byte(`{}`)},
		{ID: orphan, CustomerID: "cus_gone", WorkflowID: "wf2-" + ref, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now(), ContentType: "application/json", Body: []byte(`{}`)},
	} {
		if err := st.InsertOrderRequest(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if src, err := st.GetTemplateSources(ctx, bareOrder); err != nil || src.Customer == nil || src.Customer.IntakeTemplateID != "" ||
		src.Template != nil || len(src.Lookups) != 0 {
		t.Errorf("order of a customer without a template = %+v, %v", src, err)
	}
	if src, err := st.GetTemplateSources(ctx, orphan); err != nil || src.Customer != nil || src.Template != nil {
		t.Errorf("order of a missing customer = %+v, %v", src, err)
	}
	_, err = st.GetTemplateSources(ctx, "ord_missing")
	wantCode(t, "template sources of a missing order", err, oi.ENOTFOUND)
}

// The printer stage's one read: the order's own printer, else its
// customer's; what is missing is said.
func TestGetPrinterSources(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	if _, err := st.UpdatePrinter(ctx, &oi.Printer{ID: fx.Printer.ID, Name: fx.Printer.Name, URL: fx.Printer.URL,
		Format: oi.FormatXML, Headers: map[string]string{"X-A": "1"}, TimeoutMs: 1234, HeadersSealed: []byte("sealed"),
		CancelURL: "http://127.0.0.1:9/cancel", OrderIDExpression: "id"}); err != nil {
		t.Fatal(err)
	}
	id := insertOrder(t, st, fx, "PRN-1", time.Now())
	if err := st.SetTemplateStage(ctx, id, fx.Customer.IntakeTemplateID, 1, []byte(`{"out":1}`), nil, nil); err != nil {
		t.Fatal(err)
	}
	src, err := st.GetPrinterSources(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := st.GetPrinter(ctx, fx.Printer.ID)
	if src.Order.ID != id || src.Order.CustomerID != fx.Customer.ID || src.Order.PrinterID != fx.Printer.ID ||
		string(src.Order.Processing.Output) != `{"out":1}` || !src.CustomerFound || src.PrinterID != fx.Printer.ID ||
		!same(src.Printer, want) {
		t.Fatalf("sources = %+v (printer %+v), want printer %+v", src, src.Printer, want)
	}

	// No printer on the order: the customer's, read at the send.
	ref := oi.NewID("ref")
	viaCustomer := oi.OrderID(fx.Customer.ID, ref)
	if err := st.InsertOrderRequest(ctx, store.NewOrder{ID: viaCustomer, CustomerID: fx.Customer.ID, WorkflowID: "wf-" + ref,
		IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now(), ContentType: "application/json", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if src, err := st.GetPrinterSources(ctx, viaCustomer); err != nil || src.Order.PrinterID != "" || src.PrinterID != fx.Printer.ID ||
		src.Printer == nil || src.Printer.ID != fx.Printer.ID {
		t.Errorf("order without a printer = %+v, %v; want the customer's", src, err)
	}
	// A customer without a printer, and a missing customer.
	bare, err := st.CreateCustomer(ctx, &oi.Customer{ID: oi.NewID("cus"), Name: "Bare", ReferenceID: "bare-" + oi.NewID("r")})
	if err != nil {
		t.Fatal(err)
	}
	bareOrder, orphan := oi.OrderID(bare.ID, ref), oi.OrderID("cus_gone", ref)
	for _, o := range []store.NewOrder{
		{ID: bareOrder, CustomerID: bare.ID, WorkflowID: "wf2-" + ref, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now(), ContentType: "application/json", Body: []byte(`{}`)},
		{ID: orphan, CustomerID: "cus_gone", WorkflowID: "wf3-" + ref, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now(), ContentType: "application/json", Body: []byte(`{}`)},
	} {
		if err := st.InsertOrderRequest(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if src, err := st.GetPrinterSources(ctx, bareOrder); err != nil || !src.CustomerFound || src.PrinterID != "" || src.Printer != nil {
		t.Errorf("customer without a printer = %+v, %v", src, err)
	}
	if src, err := st.GetPrinterSources(ctx, orphan); err != nil || src.CustomerFound || src.PrinterID != "" || src.Printer != nil {
		t.Errorf("missing customer = %+v, %v", src, err)
	}
	_, err = st.GetPrinterSources(ctx, "ord_missing")
	wantCode(t, "printer sources of a missing order", err, oi.ENOTFOUND)
}

// The postback stage's one read: the order, the active triggers for the
// event oldest first, each as GetTrigger reads it, with its template,
// and the lookup tables.
func TestGetPostbackSources(t *testing.T) {
	ctx := context.Background()
	url := testenv.MigratedURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped, oi.EventDelivered)
	id := insertOrder(t, st, fx, "PB-1", time.Now())
	if err := st.SetPrinterOrderID(ctx, id, "P-77"); err != nil {
		t.Fatal(err)
	}
	first := fx.Triggers[oi.EventShipped]
	mail, err := st.CreateTrigger(ctx, &oi.Trigger{ID: oi.NewID("trg"), CustomerID: fx.Customer.ID, Name: "mail",
		Event: oi.EventShipped, Method: oi.MethodEmail, TemplateID: first.TemplateID, Format: oi.FormatText,
		Emails: []string{"a@example.com", "b@example.com"}, Status: "active"}, []byte("s"))
	if err != nil {
		t.Fatal(err)
	}
	off, err := st.CreateTrigger(ctx, &oi.Trigger{ID: oi.NewID("trg"), CustomerID: fx.Customer.ID, Name: "off",
		Event: oi.EventShipped, Method: oi.MethodURL, TemplateID: first.TemplateID, Format: oi.FormatJSON,
		URL: "http://127.0.0.1:9/off", Status: "disabled"}, []byte("s"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutLookup(ctx, &oi.LookupTable{ID: oi.NewID("lku"), CustomerID: fx.Customer.ID, Name: "carrier",
		Rows: map[string]string{"dhl": "DHL"}}); err != nil {
		t.Fatal(err)
	}

	src, err := st.GetPostbackSources(ctx, id, oi.EventShipped)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := st.GetOrderRequest(ctx, id)
	if src.Order.ID != id || src.Order.CustomerID != o.CustomerID || src.Order.OrderReferenceID != "PB-1" ||
		src.Order.PrinterOrderID != "P-77" || src.Order.Status != o.Status || !same(src.Order.Original, o.Original) {
		t.Errorf("order = %+v, want %+v", src.Order, o)
	}
	var active []*oi.Trigger // the active ones, oldest first; "off" is disabled
	for _, id := range []string{first.ID, mail.ID} {
		tr, err := st.GetTrigger(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		active = append(active, tr)
	}
	if len(src.Triggers) != 2 {
		t.Fatalf("triggers = %+v, want the two active ones %+v", src.Triggers, active)
	}
	for i, w := range active {
		g := src.Triggers[i]
		if g.Trigger.ID != w.ID || g.Trigger.Name != w.Name || g.Trigger.Method != w.Method || g.Trigger.Format != w.Format ||
			g.Trigger.URL != w.URL || !same(g.Trigger.Emails, w.Emails) || g.Trigger.RetryOnFailure != w.RetryOnFailure ||
			g.Trigger.Destination() != w.Destination() || g.Trigger.TemplateID != w.TemplateID || !g.Trigger.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("trigger %d = %+v, want %+v", i, g.Trigger, w)
		}
		tpl, _ := st.GetTemplate(ctx, w.TemplateID)
		if g.Template == nil || g.Template.ID != tpl.ID || g.Template.Body != tpl.Body || g.Template.Version != tpl.Version {
			t.Errorf("trigger %d's template = %+v, want %+v", i, g.Template, tpl)
		}
	}
	if src.Triggers[1].Trigger.ID != mail.ID || src.Triggers[0].Trigger.ID == off.ID {
		t.Errorf("triggers %s, %s; want %s then %s", src.Triggers[0].Trigger.ID, src.Triggers[1].Trigger.ID, first.ID, mail.ID)
	}
	if len(src.Lookups) != 1 || src.Lookups[0].Name != "carrier" || src.Lookups[0].Rows["dhl"] != "DHL" {
		t.Errorf("lookups = %+v", src.Lookups)
	}

	// An event no trigger fires for; a trigger whose template version is gone.
	if src, err := st.GetPostbackSources(ctx, id, oi.EventReceived); err != nil || len(src.Triggers) != 0 || src.Order.ID != id {
		t.Errorf("sources for an event without triggers = %+v, %v", src, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `update templates set current_version = 99 where id = $1`, first.TemplateID); err != nil {
		t.Fatal(err)
	}
	if src, err := st.GetPostbackSources(ctx, id, oi.EventDelivered); err != nil || len(src.Triggers) != 1 || src.Triggers[0].Template != nil {
		t.Errorf("sources with a missing template = %+v, %v; want the trigger without a template", src, err)
	}
	_, err = st.GetPostbackSources(ctx, "ord_missing", oi.EventShipped)
	wantCode(t, "postback sources of a missing order", err, oi.ENOTFOUND)
}

// An order records its customer's printer, read in the insert, when asked;
// none when the customer is gone; its own when it names one.
func TestInsertOrderRequestTakesCustomersPrinter(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	ref := oi.NewID("ref")
	for _, c := range []struct{ customer, printer, want string }{
		{fx.Customer.ID, "", fx.Printer.ID},
		{"cus_gone", "", ""},
		{fx.Customer.ID + "", "prn_own", "prn_own"},
	} {
		id := oi.OrderID(c.customer, ref+c.printer)
		if err := st.InsertOrderRequest(ctx, store.NewOrder{ID: id, CustomerID: c.customer, PrinterID: c.printer, CustomersPrinter: true,
			WorkflowID: "wf-" + id, IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: time.Now(), ContentType: "application/json",
			Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		o, err := st.GetOrderRequest(ctx, id)
		if err != nil || o.PrinterID != c.want {
			t.Errorf("order of %s (printer %q) routed to %q (%v), want %q", c.customer, c.printer, o.PrinterID, err, c.want)
		}
	}
}

// The order settings' one read: the customer's delayedAfter.
func TestGetOrderDelayedAfter(t *testing.T) {
	ctx := context.Background()
	st, fx := seeded(t)
	c := *fx.Customer
	c.DelayedAfter = oi.Duration(90 * time.Minute)
	if _, err := st.UpdateCustomer(ctx, &c); err != nil {
		t.Fatal(err)
	}
	id := insertOrder(t, st, fx, "DELAY-1", time.Now())
	if d, err := st.GetOrderDelayedAfter(ctx, id); err != nil || d != 90*time.Minute {
		t.Errorf("delayedAfter = %v (%v), want 1h30m", d, err)
	}
	orphan := oi.OrderID("cus_gone", "DELAY-2")
	if err := st.InsertOrderRequest(ctx, store.NewOrder{ID: orphan, CustomerID: "cus_gone", WorkflowID: "wf-" + orphan,
		IdempotencyKey: "DELAY-2", OrderReferenceID: "DELAY-2", ReceivedAt: time.Now(), ContentType: "application/json", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := st.GetOrderDelayedAfter(ctx, orphan)
	wantCode(t, "settings of an order whose customer is gone", err, oi.ENOTFOUND)
	_, err = st.GetOrderDelayedAfter(ctx, "ord_missing")
	wantCode(t, "settings of a missing order", err, oi.ENOTFOUND)
}

// The event's one statement with several postbacks: answered in the order
// given, each as stored (a failed render keeps its error and no body); an
// event without postbacks, not moving the status, leaves the order as it is.
func TestRecordEventWithPostbacksKeepsOrderAndFields(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	fx := testenv.Seed(t, st, testenv.Sealer(t), "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped, oi.EventDelivered)
	id := insertOrder(t, st, fx, "MULTI-1", time.Now())
	tr := fx.Triggers[oi.EventShipped]
	var pbs []*oi.Postback
	for i, name := range []string{"c", "a", "b"} {
		t2, err := st.CreateTrigger(ctx, &oi.Trigger{ID: oi.NewID("trg"), CustomerID: fx.Customer.ID, Name: name,
			Event: oi.EventShipped, Method: oi.MethodURL, TemplateID: tr.TemplateID, Format: oi.FormatJSON,
			URL: "http://127.0.0.1:9/" + name, Status: "active"}, []byte("s"))
		if err != nil {
			t.Fatal(err)
		}
		p := &oi.Postback{ID: oi.NewID("pb"), OrderID: id, Event: oi.EventShipped, EventID: "e1", TriggerID: t2.ID,
			CustomerID: fx.Customer.ID, Method: oi.MethodURL, Destination: t2.Destination(), Format: oi.FormatJSON,
			TemplateVersion: 1, Subject: "s" + name, Body: []byte(`{"n":` + fmt.Sprint(i) + `}`), RetryOnFailure: i != 1,
			Status: oi.PostbackPending}
		if i == 2 {
			p.Body, p.TemplateVersion, p.Status, p.StatusReason = nil, 0, oi.PostbackFailed, "template error: x"
			p.RenderError = []byte(`{"kind": "runtime", "message": "x"}`)
		}
		pbs = append(pbs, p)
	}
	ev := &oi.OrderEvent{OrderID: id, EventID: "e1", Status: oi.EventShipped, Source: "printer", OccurredAt: time.Now().UTC(),
		Message: "on its way", TrackingCode: "T1", Accepted: true}
	out, inserted, stored, err := st.RecordEventWithPostbacks(ctx, ev, true, pbs)
	if err != nil || !inserted || out.ID == 0 || out.Message != "on its way" || out.TrackingCode != "T1" || len(stored) != 3 {
		t.Fatalf("record = %+v inserted=%v stored=%d err=%v", out, inserted, len(stored), err)
	}
	for i, p := range pbs {
		got, err := st.GetPostback(ctx, p.ID)
		if err != nil || stored[i].ID != p.ID || !same(stored[i], got) {
			t.Errorf("postback %d answered %+v, stored %+v (%v)", i, stored[i], got, err)
		}
		if got.Subject != p.Subject || string(got.Body) != string(p.Body) || got.RetryOnFailure != p.RetryOnFailure ||
			got.Status != p.Status || got.StatusReason != p.StatusReason || got.TemplateVersion != p.TemplateVersion ||
			(p.RenderError == nil) != (got.RenderError == nil) || got.Destination != p.Destination {
			t.Errorf("postback %d stored as %+v, want %+v", i, got, p)
		}
	}
	if stored[2].Body != nil || stored[2].RenderError == nil {
		t.Errorf("failed render stored as body %q error %s", stored[2].Body, stored[2].RenderError)
	}
	evs, _ := st.ListOrderEvents(ctx, id)
	pbRows, _ := st.ListOrderPostbacks(ctx, id)
	if len(evs) != 1 || len(pbRows) != 3 {
		t.Fatalf("%d events, %d postbacks stored; want 1 and 3", len(evs), len(pbRows))
	}

	rejected := &oi.OrderEvent{OrderID: id, EventID: "e2", Status: oi.EventDelivered, Source: "printer", OccurredAt: time.Now().UTC(),
		RejectReason: "not now"}
	out, inserted, stored, err = st.RecordEventWithPostbacks(ctx, rejected, false, nil)
	if err != nil || !inserted || out.EventID != "e2" || out.Accepted || out.RejectReason != "not now" || len(stored) != 0 {
		t.Fatalf("event without postbacks = %+v inserted=%v stored=%v err=%v", out, inserted, stored, err)
	}
	if o, _ := st.GetOrderRequest(ctx, id); o.Status != oi.EventShipped {
		t.Errorf("status = %s after an event that does not move it, want shipped", o.Status)
	}
	// A postback of another event is refused, and nothing is written.
	other := *pbs[0]
	other.ID, other.EventID = oi.NewID("pb"), "e3"
	_, _, _, err = st.RecordEventWithPostbacks(ctx, &oi.OrderEvent{OrderID: id, EventID: "e4", Status: oi.EventShipped,
		Source: "printer", OccurredAt: time.Now().UTC(), Accepted: true}, true, []*oi.Postback{&other})
	wantCode(t, "a postback of another event", err, oi.EINVALID)
	if evs, _ := st.ListOrderEvents(ctx, id); len(evs) != 2 {
		t.Errorf("%d events after a refused call, want 2", len(evs))
	}
}
