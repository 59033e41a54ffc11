package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/webtest"
)

// t0 is when the recorded orders arrive.
var t0 = webtest.T0

// pageThrough follows nextCursor to the end, calling between() after each
// page, and returns the ids in the order served.
func pageThrough(e *webtest.Env, path string, between func(page int)) []string {
	e.T.Helper()
	var ids []string
	cursor := ""
	for page := 1; ; page++ {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		out := e.Must("GET", p, nil, 200)
		for _, it := range out["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, _ := out["nextCursor"].(string)
		if next == "" {
			return ids
		}
		if page > 50 {
			e.T.Fatal("pagination does not end")
		}
		cursor = next
		between(page)
	}
}

func itemIDs(out map[string]any) []string {
	var ids []string
	for _, it := range out["items"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

func TestRequestsPaginationWhileOrdersArrive(t *testing.T) {
	e := webtest.New(t)
	var want []string // newest first
	for i := 6; i >= 0; i-- {
		want = append(want, e.Order(fmt.Sprintf("R-%d", i), t0.Add(time.Duration(i)*time.Minute)))
	}
	// Two orders in the same microsecond: the id breaks the tie.
	a, b := e.Order("TIE-A", t0.Add(-time.Minute)), e.Order("TIE-B", t0.Add(-time.Minute))
	if a < b {
		a, b = b, a
	}
	want = append(want, a, b)

	arrived := 0
	got := pageThrough(e, "/v1/admin/requests?limit=3", func(page int) {
		// New orders arrive between pages (newer than everything served).
		e.Order(fmt.Sprintf("NEW-%d", page), time.Now().UTC())
		arrived++
	})
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages served\n%v\nwant (no duplicates, no gaps, newest first)\n%v", got, want)
	}
	if arrived != 2 {
		t.Fatalf("%d pages, want 3", arrived+1)
	}
	if n := len(e.Must("GET", "/v1/admin/requests?limit=500", nil, 200)["items"].([]any)); n != len(want)+arrived {
		t.Errorf("after the walk %d orders listed, want %d", n, len(want)+arrived)
	}
}

func TestRequestsDateFiltersAtTheBoundaries(t *testing.T) {
	e := webtest.New(t)
	ids := map[int]string{}
	for i := 0; i < 6; i++ {
		ids[i] = e.Order(fmt.Sprintf("D-%d", i), t0.Add(time.Duration(i)*time.Hour))
	}
	q := func(from, to time.Time) []string {
		return itemIDs(e.Must("GET", "/v1/admin/requests?from="+url.QueryEscape(from.Format(time.RFC3339Nano))+
			"&to="+url.QueryEscape(to.Format(time.RFC3339Nano)), nil, 200))
	}
	// [from, to): an order exactly at from is in, one exactly at to is out.
	if got, want := q(t0.Add(2*time.Hour), t0.Add(5*time.Hour)), []string{ids[4], ids[3], ids[2]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("[2h, 5h) = %v, want %v", got, want)
	}
	if got := q(t0.Add(2*time.Hour+time.Microsecond), t0.Add(3*time.Hour)); len(got) != 0 {
		t.Errorf("(2h, 3h) = %v, want none", got)
	}
	// Offsets other than Z mean the same instant.
	cet := time.FixedZone("CET", 3600)
	if got := q(t0.Add(5*time.Hour).In(cet), t0.Add(6*time.Hour).In(cet)); len(got) != 1 || got[0] != ids[5] {
		t.Errorf("[5h, 6h) given in +01:00 = %v, want %v", got, ids[5])
	}
	for _, c := range []struct{ query, field string }{
		{"from=2026-11-20", "from"}, {"to=yesterday", "to"},
		{"from=2026-11-20T10:00:00Z&to=2026-11-20T10:00:00Z", "to"}, {"from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z", "to"},
		{"limit=0", "limit"}, {"limit=501", "limit"}, {"cursor=bm90LWEtY3Vyc29y", "cursor"}, {"status=lost", "status"},
	} {
		st, out := e.Admin("GET", "/v1/admin/requests?"+c.query, nil)
		problemAt(t, "requests?"+c.query, st, out, 422, c.field)
	}
}

func TestRequestsFilters(t *testing.T) {
	e := webtest.New(t)
	shipped, _ := e.Journey("SHOP-1001", t0, 201, "received", "shipped")
	failed, _ := e.Journey("SHOP-1002", t0.Add(time.Minute), 0)
	other := e.Order("OTHER-7", t0.Add(2*time.Minute))
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"status=shipped", []string{shipped}},
		{"status=failed", []string{failed}},
		{"customerId=" + e.Fx.Customer.ID, []string{other, failed, shipped}},
		{"customerId=cus_nobody", nil},
		{"printerId=" + e.Fx.Printer.ID, []string{other, failed, shipped}},
		{"reference=SHOP-", []string{failed, shipped}},
		{"reference=shop-", nil}, // prefix match is exact-case
		{"q=1002", []string{failed}},
		{"q=shop-100", []string{failed, shipped}}, // free text: any case, anywhere
		{"q=" + other, []string{other}},           // an order id
		{"q=50%25", nil},                          // LIKE wildcards are literal
	} {
		if got := itemIDs(e.Must("GET", "/v1/admin/requests?"+c.query, nil, 200)); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("requests?%s = %v, want %v", c.query, got, c.want)
		}
	}
}

// TestRequestDetailHasTheFourStages is the Requests view of one order: what
// came in, how the template turned it, what went to the printer, its answer.
func TestRequestDetailHasTheFourStages(t *testing.T) {
	e := webtest.New(t)
	id, pbs := e.Journey("SHOP-2001", t0, 502, "received", "shipped")
	d := e.Must("GET", "/v1/admin/requests/"+id, nil, 200)
	orig := d["originalRequest"].(map[string]any)
	proc := d["templateProcessing"].(map[string]any)
	final := d["finalRequest"].(map[string]any)
	resp := d["systemResponse"].(map[string]any)
	if !strings.Contains(orig["body"].(string), `"sku": "MUG-WHITE"`) || orig["contentType"] != "application/json" {
		t.Errorf("original request = %v", orig)
	}
	if proc["templateVersion"] != float64(3) || !strings.Contains(proc["output"].(string), `"copies": 2`) {
		t.Errorf("template processing = %v", proc)
	}
	if final["url"] != e.Fx.Printer.URL || final["body"] != proc["output"] || final["method"] != "POST" {
		t.Errorf("final request = %v", final)
	}
	if resp["status"] != float64(502) || resp["latencyMs"] != float64(120) || resp["attempts"] != float64(1) {
		t.Errorf("system response = %v", resp)
	}
	if evs := d["events"].([]any); len(evs) != 2 || evs[1].(map[string]any)["trackingCode"] != "TRK-SHOP-2001" {
		t.Errorf("timeline = %v", evs)
	}
	if got := d["postbacks"].([]any); len(got) != 1 || got[0].(map[string]any)["id"] != pbs[0] {
		t.Errorf("postbacks = %v, want the shipped one %v", got, pbs)
	}
	if link := d["links"].(map[string]any)["workflow"]; link != "http://127.0.0.1:8233/namespaces/default/workflows/order%2F"+e.Fx.Customer.ID+"%2FSHOP-2001" {
		t.Errorf("workflow link = %v", link)
	}
	st, out := e.Admin("GET", "/v1/admin/requests/ord_unknown", nil)
	problemAt(t, "unknown order", st, out, 404, "")

	// An order whose template failed has no final request and no answer.
	fid := e.Order("SHOP-2002", t0)
	if err := e.Store.SetTemplateProcessing(context.Background(), fid, "tpl_intake", 1, nil,
		[]byte(`{"kind": "runtime", "message": "unknown sku", "line": 3, "column": 7}`)); err != nil {
		t.Fatal(err)
	}
	f := e.Must("GET", "/v1/admin/requests/"+fid, nil, 200)
	if f["finalRequest"] != nil || f["systemResponse"] != nil || f["templateProcessing"].(map[string]any)["error"].(map[string]any)["line"] != float64(3) {
		t.Errorf("failed order detail = %v", f)
	}
}

func TestPostbacksListAndDetail(t *testing.T) {
	e := webtest.New(t)
	o1, pb1 := e.Journey("SHOP-3001", t0, 201, "received", "shipped", "delivered")
	_, pb2 := e.Journey("SHOP-3002", t0.Add(time.Hour), 201, "shipped")
	e.Attempt(pb1[0], 200, "delivered", oi.PostbackDelivered)
	e.Attempt(pb1[1], 200, "delivered", oi.PostbackDelivered)
	e.Attempt(pb2[0], 503, "retry", oi.PostbackPending)
	e.Attempt(pb2[0], 503, "retry", oi.PostbackPending)

	all := e.Must("GET", "/v1/admin/postbacks", nil, 200)
	if got := itemIDs(all); strings.Join(got, ",") != strings.Join([]string{pb2[0], pb1[1], pb1[0]}, ",") {
		t.Fatalf("postbacks = %v, want newest first", got)
	}
	if ref := all["items"].([]any)[0].(map[string]any)["orderReferenceId"]; ref != "SHOP-3002" {
		t.Errorf("list item orderReferenceId = %v", ref)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"event=shipped", []string{pb2[0], pb1[0]}},
		{"event=shipped&q=3002", []string{pb2[0]}},
		{"status=pending", []string{pb2[0]}},
		{"triggerId=" + e.Fx.Triggers["delivered"].ID, []string{pb1[1]}},
		{"orderId=" + o1, []string{pb1[1], pb1[0]}},
		{"reference=SHOP-3001", []string{pb1[1], pb1[0]}},
		{"q=" + pb1[0], []string{pb1[0]}},
		{"customerId=cus_nobody", nil},
	} {
		if got := itemIDs(e.Must("GET", "/v1/admin/postbacks?"+c.query, nil, 200)); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("postbacks?%s = %v, want %v", c.query, got, c.want)
		}
	}
	// Date filters at the boundaries of real created_at values.
	var created []time.Time
	for _, it := range all["items"].([]any) {
		ts, _ := time.Parse(time.RFC3339Nano, it.(map[string]any)["createdAt"].(string))
		created = append(created, ts)
	}
	from, to := created[1], created[0] // [pb1[1], pb2[0]): pb1[1] in, pb2[0] out
	got := itemIDs(e.Must("GET", "/v1/admin/postbacks?from="+url.QueryEscape(from.Format(time.RFC3339Nano))+"&to="+url.QueryEscape(to.Format(time.RFC3339Nano)), nil, 200))
	if strings.Join(got, ",") != pb1[1] {
		t.Errorf("postbacks in [%v, %v) = %v, want only %s", from, to, got, pb1[1])
	}
	for _, c := range []struct{ query, field string }{{"event=lost", "event"}, {"status=sent", "status"}, {"from=now", "from"}} {
		st, out := e.Admin("GET", "/v1/admin/postbacks?"+c.query, nil)
		problemAt(t, "postbacks?"+c.query, st, out, 422, c.field)
	}

	d := e.Must("GET", "/v1/admin/postbacks/"+pb2[0], nil, 200)
	atts := d["attempts"].([]any)
	if len(atts) != 2 || d["attemptCount"] != float64(2) || d["nextAttemptAt"] == nil || d["orderReferenceId"] != "SHOP-3002" ||
		!strings.Contains(d["body"].(string), `"event": "shipped"`) || d["event"] != "shipped" || d["destination"] != e.Fx.Triggers["shipped"].URL {
		t.Fatalf("postback detail = %v", d)
	}
	a2 := atts[1].(map[string]any)
	if a2["attempt"] != float64(2) || a2["responseStatus"] != float64(503) || a2["errorKind"] != "http" || a2["nextAttemptAt"] == nil {
		t.Errorf("second attempt = %v", a2)
	}
	st, out := e.Admin("GET", "/v1/admin/postbacks/pbk_nope", nil)
	problemAt(t, "unknown postback", st, out, 404, "")
}

func TestPostbacksPaginationWhileNewOnesArrive(t *testing.T) {
	e := webtest.New(t)
	for i := 0; i < 4; i++ {
		e.Journey(fmt.Sprintf("P-%d", i), t0.Add(time.Duration(i)*time.Minute), 201, "shipped", "delivered")
	}
	all := itemIDs(e.Must("GET", "/v1/admin/postbacks?limit=500", nil, 200))
	got := pageThrough(e, "/v1/admin/postbacks?limit=3", func(page int) {
		e.Journey(fmt.Sprintf("LATE-%d", page), time.Now().UTC(), 201, "shipped")
	})
	if strings.Join(got, ",") != strings.Join(all, ",") || len(got) != 8 {
		t.Fatalf("pages served %v\nwant %v", got, all)
	}
}
