// Package webtest is the one test harness of the HTTP face that the api and
// hq tests share: the router a process serves (internal/app.Handler: the
// JSON API with the HQ pages) on a real PostgreSQL, over loopback, with the
// API client (every API exchange checked against the OpenAPI document) and
// a browser session for the HQ pages.
package webtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	oi "orderintake"
	"orderintake/api"
	"orderintake/internal/apiclient"
	"orderintake/internal/app"
	"orderintake/internal/seal"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/store"
)

// AdminToken is the admin token of every Env.
const AdminToken = "adm_test_token_0123456789"

// Quiet is the logger of the servers under test.
var Quiet = slog.New(slog.DiscardHandler)

// TemporalUIURL is the Web UI the order views link to.
const TemporalUIURL = "http://127.0.0.1:8233"

// Options vary an Env.
type Options struct {
	// Temporal is the client workflows are started and signalled with (nil:
	// none; the routes that need it are not tested on such an Env).
	Temporal client.Client
	// Config changes the API's configuration before the router is built.
	Config func(*api.Config)
	// Handler, when set, builds the router to serve instead of the
	// product's (hq's own tests mount the pages alone with it).
	Handler func(e *Env) http.Handler
	// Seed configures a customer (Env.Fx) wired to a printer and a webhook
	// whose triggers fire on Events.
	Seed   bool
	Events []string
}

// Env is the product's router on a fresh migrated database, served over
// loopback until the test ends.
type Env struct {
	T      *testing.T
	Store  *store.Store
	Sealer *seal.Sealer
	// Fx is the seeded customer (nil without Options.Seed).
	Fx *testenv.Fixture
	// URL is the server's base URL; DatabaseURL the database behind it, for
	// what a test must see or change behind the server's back.
	URL         string
	DatabaseURL string
}

// New is an Env with a customer whose webhook fires on shipped and
// delivered.
func New(t *testing.T) *Env {
	t.Helper()
	return NewWith(t, Options{Seed: true, Events: []string{oi.EventShipped, oi.EventDelivered}})
}

// NewWith is an Env built as o says.
func NewWith(t *testing.T, o Options) *Env {
	t.Helper()
	dbURL := testenv.MigratedURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e := &Env{T: t, Store: st, Sealer: testenv.Sealer(t), DatabaseURL: dbURL}
	cfg := api.Config{Store: st, Temporal: o.Temporal, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: e.Sealer,
		AdminToken: AdminToken, TemporalUIURL: TemporalUIURL, Logger: Quiet}
	if o.Config != nil {
		o.Config(&cfg)
	}
	if o.Handler != nil {
		e.URL = Serve(t, o.Handler(e))
	} else {
		e.URL = Serve(t, app.Handler(cfg))
	}
	if o.Seed {
		e.Fx = testenv.Seed(t, st, e.Sealer, "http://127.0.0.1:9/printer", "http://127.0.0.1:9/hook", o.Events...)
	}
	return e
}

// Serve serves h on a loopback port until the test ends and returns its
// base URL.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("webtest: serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// Client is the shared API client (internal/apiclient) on this server;
// every API exchange is also an example the OpenAPI document must
// describe (CheckExchange), whichever package's test makes it.
func (e *Env) Client() *apiclient.Client {
	return &apiclient.Client{BaseURL: e.URL, AdminToken: AdminToken,
		Observe: func(req *http.Request, body []byte, r *apiclient.Response) {
			if !strings.HasPrefix(req.URL.Path, "/hq/") {
				CheckExchange(e.T, req, body, r.Status, r.Header, r.Body)
			}
		}}
}

// Do makes one request and returns the status, the decoded JSON body (nil
// when not JSON), the response (status and header) and the raw body.
func (e *Env) Do(method, path string, hdr map[string]string, body string) (int, map[string]any, *http.Response, []byte) {
	e.T.Helper()
	r, err := e.Client().Do(context.Background(), method, path, hdr, []byte(body))
	if err != nil {
		e.T.Fatal(err)
	}
	return r.Status, r.JSON(), &http.Response{StatusCode: r.Status, Header: r.Header}, r.Body
}

// Admin is an admin API call.
func (e *Env) Admin(method, path string, body any) (int, map[string]any) {
	e.T.Helper()
	b := ""
	if body != nil {
		raw, _ := json.Marshal(body)
		b = string(raw)
	}
	status, out, _, _ := e.Do(method, path, map[string]string{"Authorization": "Bearer " + AdminToken}, b)
	return status, out
}

// Must is an admin call that must answer want.
func (e *Env) Must(method, path string, body any, want int) map[string]any {
	e.T.Helper()
	status, out := e.Admin(method, path, body)
	if status != want {
		e.T.Fatalf("%s %s = %d %v, want %d", method, path, status, out, want)
	}
	return out
}

// Bearer calls an admin route with token, from the client address xff
// names (believed only from a trusted proxy).
func (e *Env) Bearer(token, xff string) (int, http.Header, string) {
	e.T.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/v1/admin/customers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// Order records an order of the seeded customer as the workflow would,
// received at at.
func (e *Env) Order(ref string, at time.Time) string {
	e.T.Helper()
	cust := e.Fx.Customer.ID
	id := oi.OrderID(cust, ref)
	err := e.Store.InsertOrderRequest(context.Background(), store.NewOrder{ID: id, CustomerID: cust, PrinterID: e.Fx.Printer.ID,
		WorkflowID: oi.WorkflowID(cust, ref), IdempotencyKey: ref, OrderReferenceID: ref, ReceivedAt: at,
		ContentType: "application/json", Headers: map[string][]string{"content-type": {"application/json"}},
		Body: []byte(`{"orderReferenceId": "` + ref + `", "items": [{"sku": "MUG-WHITE", "quantity": 2}]}`)})
	if err != nil {
		e.T.Fatal(err)
	}
	return id
}

// NoFollow is a client with jar that returns redirects instead of
// following them.
func (e *Env) NoFollow(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Browser is an HQ session: a cookie jar and the last CSRF token (or
// login nonce) seen on a page.
type Browser struct {
	e    *Env
	C    *http.Client
	CSRF string
	// Location is the Location header of the last response read.
	Location string
}

var csrfField = regexp.MustCompile(`name="(?:csrf|nonce)" value="([^"]+)"`)

// Browser is a new browser with no session.
func (e *Env) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return e.BrowserOn(&http.Client{Jar: jar})
}

// BrowserOn is a browser using c (its jar, its redirect policy).
func (e *Env) BrowserOn(c *http.Client) *Browser { return &Browser{e: e, C: c} }

// Get loads a page and remembers its CSRF token.
func (b *Browser) Get(path string) (int, string) {
	b.e.T.Helper()
	resp, err := b.C.Get(b.e.URL + path)
	return b.Read(resp, err)
}

// Read returns a page's status and body and keeps its CSRF token.
func (b *Browser) Read(resp *http.Response, err error) (int, string) {
	b.e.T.Helper()
	if err != nil {
		b.e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b.Location = resp.Header.Get("Location")
	raw, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(raw)); m != nil {
		b.CSRF = m[1]
	}
	return resp.StatusCode, string(raw)
}

// Post submits a form with the CSRF token (or nonce) of the last page in
// field ("" sends none).
func (b *Browser) Post(path string, form url.Values, field string) (int, string) {
	b.e.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	if field != "" {
		form.Set(field, b.CSRF)
	}
	return b.Read(b.C.PostForm(b.e.URL+path, form))
}

// Login signs in with the admin token.
func (b *Browser) Login() {
	b.e.T.Helper()
	b.Get("/hq/login")
	status, body := b.Post("/hq/login", url.Values{"token": {AdminToken}}, "nonce")
	if status != 200 || !strings.Contains(body, "Requests") {
		b.e.T.Fatalf("login = %d %s", status, body)
	}
}
