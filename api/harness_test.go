package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/api"
	"orderintake/internal/apiclient"
	"orderintake/internal/app"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/store"
)

var quiet = slog.New(slog.DiscardHandler)

const adminToken = "adm_test_token_0123456789"

// env is the API on a real Postgres, served over loopback, with a seeded
// customer. No Temporal: these tests cover the routes that do not need it.
type env struct {
	t   *testing.T
	st  *store.Store
	srv *httptest.Server
	fx  *testenv.Fixture
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := testenv.Store(t)
	sealer := testenv.Sealer(t)
	cfg := api.Config{Store: st, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: sealer, AdminToken: adminToken,
		TemporalUIURL: "http://127.0.0.1:8233", Logger: quiet}
	e := &env{t: t, st: st, srv: httptest.NewServer(app.Handler(cfg))}
	t.Cleanup(e.srv.Close)
	e.fx = testenv.Seed(t, st, sealer, "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", oi.EventShipped, oi.EventDelivered)
	return e
}

// client is the shared API client (internal/apiclient) on this server;
// every API exchange of these tests is also an example the OpenAPI
// document must describe.
func (e *env) client() *apiclient.Client {
	return &apiclient.Client{BaseURL: e.srv.URL, AdminToken: adminToken,
		Observe: func(req *http.Request, body []byte, r *apiclient.Response) {
			if !strings.HasPrefix(req.URL.Path, "/hq/") {
				checkExchange(e.t, req, body, r.Status, r.Header, r.Body)
			}
		}}
}

// do makes one request and returns the status, the decoded JSON body (nil
// when not JSON) and the response.
func (e *env) do(method, path string, hdr map[string]string, body string) (int, map[string]any, *http.Response, []byte) {
	e.t.Helper()
	r, err := e.client().Do(context.Background(), method, path, hdr, []byte(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Status, r.JSON(), &http.Response{StatusCode: r.Status, Header: r.Header}, r.Body
}

// admin is an admin API call.
func (e *env) admin(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	b := ""
	if body != nil {
		raw, _ := json.Marshal(body)
		b = string(raw)
	}
	status, out, _, _ := e.do(method, path, map[string]string{"Authorization": "Bearer " + adminToken}, b)
	return status, out
}

// must is an admin call that must answer want.
func (e *env) must(method, path string, body any, want int) map[string]any {
	e.t.Helper()
	status, out := e.admin(method, path, body)
	if status != want {
		e.t.Fatalf("%s %s = %d %v, want %d", method, path, status, out, want)
	}
	return out
}

// order records an order as the workflow would, received at at.
func (e *env) order(ref string, at time.Time) string {
	e.t.Helper()
	cust := e.fx.Customer.ID
	id := oi.OrderID(cust, ref)
	err := e.st.InsertOrderRequest(context.Background(), store.NewOrder{ID: id, CustomerID: cust, PrinterID: e.fx.Printer.ID,
		WorkflowID: oi.WorkflowID(cust, ref), IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: at,
		ContentType: "application/json", Headers: map[string][]string{"content-type": {"application/json"}},
		Body: []byte(`{"orderReferenceId": "` + ref + `", "items": [{"sku": "MUG-WHITE", "quantity": 2}]}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// browser is an HQ session: a cookie jar and the last CSRF token seen.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="(?:csrf|nonce)" value="([^"]+)"`)

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar}}
}

// get loads a page and remembers its CSRF token.
func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	return b.read(resp, err)
}

// read returns a page's status and body and keeps its CSRF token.
func (b *browser) read(resp *http.Response, err error) (int, string) {
	b.e.t.Helper()
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(raw)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(raw)
}

// post submits a form with the CSRF token (or nonce) of the last page.
func (b *browser) post(path string, form url.Values, field string) (int, string) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if field != "" {
		form.Set(field, b.csrf)
	}
	return b.read(b.c.PostForm(b.e.srv.URL+path, form))
}

func (b *browser) login() {
	b.e.t.Helper()
	b.get("/hq/login")
	status, body := b.post("/hq/login", url.Values{"token": {adminToken}}, "nonce")
	if status != 200 || !strings.Contains(body, "Requests") {
		b.e.t.Fatalf("login = %d %s", status, body)
	}
}
