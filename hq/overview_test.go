package hq_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"orderintake/internal/testenv"
	"orderintake/internal/webtest"
	"orderintake/store"
)

// The overview counts the orders the store holds, as a chart and rates.
func TestHQOverviewPage(t *testing.T) {
	e := webtest.New(t)
	now := time.Now()
	for i, ref := range []string{"OV-1", "OV-2", "OV-3"} {
		e.Order(ref, now.Add(-time.Duration(i+1)*time.Hour))
	}
	b := e.Browser()
	b.Login()
	status, page := b.Get("/hq/?refresh=1")
	if status != 200 {
		t.Fatalf("overview = %d", status)
	}
	if m := regexp.MustCompile(`id="orders-chart" data-total="(\d+)"`).FindStringSubmatch(page); m == nil || m[1] != "3" {
		t.Errorf("the chart does not count the 3 orders: %v", m)
	}
	for _, want := range []string{`data-status="accepted"`, `id="ov-orders">3<`, `id="ov-failure-rate">0.0%<`, "Nothing is failing now.", "Shop"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	if status, page := b.Get("/hq/?span=7d&customerId=" + url.QueryEscape(e.Fx.Customer.ID)); status != 200 || !strings.Contains(page, "last 7 days") {
		t.Errorf("7-day view = %d", status)
	}
}

// The editor renders against a real order and previews a draft over the
// customer's orders: same, changed with a diff, now failing with the error.
func TestHQEditorRealOrdersAndImpact(t *testing.T) {
	e := webtest.New(t)
	ctx := context.Background()
	e.Order("IMP-1", time.Now().Add(-2*time.Hour))
	e.Order("IMP-2", time.Now().Add(-time.Hour))
	tplID := e.Fx.Customer.IntakeTemplateID
	b := e.Browser()
	b.Login()
	status, page := b.Get("/hq/templates/" + tplID)
	if status != 200 || !strings.Contains(page, `data-editor="jinja"`) || !strings.Contains(page, `src="/hq/static/editor.js"`) ||
		!strings.Contains(page, `data-insert="{{ orderReferenceId }}"`) {
		t.Fatalf("editor page = %d, want the code editor and the variables panel", status)
	}
	form := url.Values{"name": {"intake"}, "kind": {"intake"}, "format": {"json"}, "body": {testenv.IntakeJSON},
		"customerId": {e.Fx.Customer.ID}}

	// Render against the real order IMP-1 (its reference comes out).
	orders, _, err := e.Store.ListOrderRequests(ctx, storeFilter(e.Fx.Customer.ID))
	if err != nil || len(orders) != 2 {
		t.Fatalf("orders: %v %v", orders, err)
	}
	f := cloneForm(form)
	f.Set("orderId", orders[1].ID)
	if status, page := b.Post("/hq/templates/render", f, "csrf"); status != 200 || !strings.Contains(page, "IMP-1") ||
		!strings.Contains(page, "the last real order of Shop") {
		t.Errorf("render against IMP-1 = %d, output lacks IMP-1 or the variables do not come from the real order", status)
	}

	// A strict draft reading "gift" everywhere: both orders now fail;
	// a draft changing copies: both changed, with a diff.
	f = cloneForm(form)
	f.Set("body", strings.Replace(testenv.IntakeJSON, `"copies": {{ item.quantity }}`, `"copies": {{ item.quantity * 3 }}`, 1))
	status, page = b.Post("/hq/templates/"+tplID+"/impact", f, "csrf")
	if status != 200 || strings.Count(page, `data-outcome="changed"`) != 3 || !strings.Contains(page, `class="diff"`) ||
		!strings.Contains(page, `&#34;copies&#34;: 6`) {
		t.Errorf("impact of a changed draft = %d; want 2 changed rows (+ the count badge) with a diff showing 6 copies", status)
	}
	f = cloneForm(form)
	f.Set("strict", "on")
	f.Set("body", strings.TrimSuffix(testenv.IntakeJSON, "}")+`, "gift": "{{ gift }}"}`)
	status, page = b.Post("/hq/templates/"+tplID+"/impact", f, "csrf")
	if status != 200 || strings.Count(page, `data-outcome="now failing"`) != 3 || !strings.Contains(page, "gift") {
		t.Errorf("impact of a failing draft = %d; want 2 now-failing rows naming gift", status)
	}
	if !regexp.MustCompile(`<td>(&lt;1 ms|\d+ ms)</td>`).MatchString(page) {
		t.Error("draft render durations are not shown as '<1 ms' or 'N ms'")
	}
}

// The settings page saves the alert settings and shows the secret once.
func TestHQAlertSettingsForm(t *testing.T) {
	e := webtest.New(t)
	b := e.Browser()
	b.Login()
	b.Get("/hq/settings")
	status, page := b.Post("/hq/settings/alerts", url.Values{"enabled": {"on"}, "emails": {"ops@psp.example, oncall@psp.example"},
		"webhookUrl": {"https://ops.psp.example/hook"}, "triggerFailures": {"3"}, "printerFailures": {"4"}}, "csrf")
	if status != 200 || !strings.Contains(page, `id="alert-secret"`) || !strings.Contains(page, "whsec_") {
		t.Fatalf("save alerts = %d, want the signing secret shown once", status)
	}
	got := e.Must("GET", "/v1/admin/settings/alerts", nil, 200)
	if got["triggerFailures"] != float64(3) || got["printerFailures"] != float64(4) || len(got["emails"].([]any)) != 2 {
		t.Errorf("saved = %v", got)
	}
	status, page = b.Post("/hq/settings/alerts", url.Values{"enabled": {"on"}}, "csrf")
	if status != 422 || !strings.Contains(page, "e-mail address or a webhookUrl") {
		t.Errorf("enabled without recipients = %d", status)
	}
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func storeFilter(customerID string) store.ListFilter { return store.ListFilter{CustomerID: customerID} }

// Render's warnings reach the code editor (its gutter marks them) and the
// list beside it (each links to its line).
func TestHQEditorWarningsForTheGutter(t *testing.T) {
	e := webtest.New(t)
	b := e.Browser()
	b.Login()
	b.Get("/hq/templates/new")
	status, page := b.Post("/hq/templates/render", url.Values{"name": {"w"}, "kind": {"intake"}, "format": {"json"},
		"body": {"{\n  \"gift\": \"{{ gift_note }}\"\n}"}, "input": {`{"orderReferenceId": "W-1"}`}}, "csrf")
	if status != 200 {
		t.Fatalf("render = %d", status)
	}
	m := regexp.MustCompile(`data-warnings="([^"]*)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(m[1], "&#34;line&#34;:2") || !strings.Contains(m[1], "gift_note") {
		t.Errorf("the editor gets no warning on line 2 naming gift_note: %v", m)
	}
	if !strings.Contains(page, `data-goto-line="2"`) {
		t.Error("the warnings list does not link to line 2")
	}
}
