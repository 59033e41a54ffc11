package hq_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/hq"
	"orderintake/internal/pgtest"
	"orderintake/internal/throttle"
	"orderintake/internal/webtest"
	"orderintake/mapper"
	"orderintake/overview"
	"orderintake/service"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = webtest.Quiet

// site is HQ mounted alone on a router (no API route at all) over the
// services on a real Postgres (webtest with its own handler), signed in:
// what the pages show and do can only come from the services. The other
// page tests of this package run on the product's whole router.
type site struct {
	*webtest.Env
	b *webtest.Browser
}

func newSite(t *testing.T) *site {
	e := webtest.NewWith(t, webtest.Options{Seed: true, Events: []string{oi.EventShipped}, Handler: func(e *webtest.Env) http.Handler {
		st, eng := e.Store, mapper.NewEngine(mapper.Options{})
		views := &service.Views{Store: st, TemporalUIURL: webtest.TemporalUIURL, Namespace: "default"}
		admin := &service.Admin{Store: st, Mapper: eng, Sealer: e.Sealer, Workflows: &service.Workflows{Store: st, Log: quiet}, Views: views}
		h := hq.New(hq.Config{Admin: admin, Views: views, Life: service.NewOrderLife(nil, st, eng, quiet),
			Overview: &overview.Service{Store: st, Logger: quiet}, Sessions: st, Throttle: throttle.New(st, quiet),
			AdminToken: webtest.AdminToken, Logger: quiet})
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		h.Mount(r)
		return r
	}})
	jar, _ := cookiejar.New(nil)
	s := &site{Env: e, b: e.BrowserOn(e.NoFollow(jar))}
	s.get("/hq/login")
	if st, _, loc := s.post("/hq/login", url.Values{"token": {webtest.AdminToken}}, "nonce"); st != 303 || loc != "/hq/" {
		t.Fatalf("sign-in = %d to %q, want 303 to /hq/", st, loc)
	}
	return s
}

// get loads a page: its status, body and Location.
func (s *site) get(path string) (int, string, string) {
	s.T.Helper()
	st, body := s.b.Get(path)
	return st, body, s.b.Location
}

// post submits a form with the last page's CSRF token (or login nonce).
func (s *site) post(path string, form url.Values, tokenField string) (int, string, string) {
	s.T.Helper()
	st, body := s.b.Post(path, form, tokenField)
	return st, body, s.b.Location
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// The configuration pages create, show and refuse through service.Admin:
// typed values on the page, a form problem with its field, a secret shown
// once.
func TestConfigPagesOverTheAdminService(t *testing.T) {
	s := newSite(t)
	st, body, _ := s.get("/hq/customers")
	if st != 200 {
		t.Fatalf("customers = %d", st)
	}
	mustContain(t, "the customers list", body, "Shop", "Test printer")

	st, _, loc := s.post("/hq/customers", url.Values{"name": {"Mugs & Co"}, "referenceId": {"mugs"},
		"printerId": {s.Fx.Printer.ID}, "delayedAfter": {"48h"}}, "csrf")
	if st != 303 || !strings.HasPrefix(loc, "/hq/customers/cus_") || !strings.HasSuffix(loc, "?notice=created") {
		t.Fatalf("create customer = %d to %q", st, loc)
	}
	st, body, _ = s.get(loc)
	mustContain(t, "the new customer's page", body, "Created.", "Mugs &amp; Co", `value="48h"`, "Test printer")
	if st != 200 {
		t.Fatalf("customer page = %d", st)
	}

	// A headers line that is not "Name: value" is the page's own 422, naming the field.
	st, body, _ = s.post("/hq/printers", url.Values{"name": {"P2"}, "url": {"https://psp.example/orders"}, "format": {"json"},
		"headers": {"Authorization Bearer x"}, "timeoutMs": {"9000"}}, "csrf")
	if st != 422 {
		t.Fatalf("bad headers = %d, want 422", st)
	}
	mustContain(t, "the printers page after a bad header", body, "Headers line 1 must look like Name: value",
		"field: <code>headers</code>", `value="P2"`)

	// The service's own validation comes back as the page's problem.
	st, body, _ = s.post("/hq/printers", url.Values{"name": {"P3"}, "url": {"not a url"}, "format": {"json"}}, "csrf")
	if st != 422 || !strings.Contains(body, "field: <code>url</code>") {
		t.Fatalf("bad url = %d, want 422 naming url:\n%s", st, body)
	}

	// A trigger's signing secret is shown once, on the page that made it.
	st, body, _ = s.post("/hq/triggers", url.Values{"customerId": {s.Fx.Customer.ID}, "name": {"ship hook"}, "event": {"shipped"},
		"method": {"url"}, "templateId": {s.Fx.Triggers[oi.EventShipped].TemplateID}, "format": {"json"},
		"url": {"https://shop.example/hook"}, "retryOnFailure": {"on"}, "status": {"active"}}, "csrf")
	if st != 201 || !regexp.MustCompile(`<code id="secret">whsec_[^<]+</code>`).MatchString(body) {
		t.Fatalf("create trigger = %d, want 201 with the secret shown once", st)
	}
}

// The Requests pages read service.Views: a refused filter is a 422 naming
// it, an order shows its stages, an unknown order is a 404 page.
func TestRequestPagesOverTheViews(t *testing.T) {
	s := newSite(t)
	cust := s.Fx.Customer.ID
	id := oi.OrderID(cust, "HQ-1")
	if err := s.Store.InsertOrderRequest(context.Background(), store.NewOrder{ID: id, CustomerID: cust, PrinterID: s.Fx.Printer.ID,
		WorkflowID: oi.WorkflowID(cust, "HQ-1"), IdempotencyKey: "HQ-1", OrderReferenceID: "HQ-1", ReceivedAt: time.Now(),
		ContentType: "application/json", Headers: map[string][]string{"content-type": {"application/json"}},
		Body: []byte(`{"orderReferenceId":"HQ-1","items":[{"sku":"MUG","quantity":2}]}`)}); err != nil {
		t.Fatal(err)
	}
	st, body, _ := s.get("/hq/requests")
	if st != 200 {
		t.Fatalf("requests = %d", st)
	}
	mustContain(t, "the requests list", body, "/hq/requests/"+id, "HQ-1", "Shop")

	st, body, _ = s.get("/hq/requests?status=lost")
	if st != 422 {
		t.Fatalf("unknown status filter = %d, want 422", st)
	}
	mustContain(t, "the refused filter", body, "status must be one of", "field: <code>status</code>")

	st, body, _ = s.get("/hq/postbacks?from=yesterday")
	if st != 422 {
		t.Fatalf("a date filter that is no date = %d, want 422", st)
	}
	mustContain(t, "the refused date", body, "from must be a date like 2026-11-22", "field: <code>from</code>")

	st, body, _ = s.get("/hq/requests/" + id)
	if st != 200 {
		t.Fatalf("request page = %d", st)
	}
	mustContain(t, "the order page", body, "Order HQ-1", "1. Original request",
		"&#34;orderReferenceId&#34;: &#34;HQ-1&#34;", // indented for reading
		"Nothing was sent to the printer", "/namespaces/default/workflows/")

	st, body, _ = s.get("/hq/requests/ord_nope")
	if st != 404 || !strings.Contains(body, "404 Not Found") {
		t.Fatalf("unknown order = %d, want a 404 page", st)
	}
}
