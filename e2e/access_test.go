//go:build !nodev

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"orderintake/api"
	"orderintake/internal/app"
	"orderintake/internal/testenv"
	"orderintake/mapper"
)

// accessServer is the API and the HQ pages (app.Handler, as served) with
// the product's store and Temporal client, on its own loopback server, with
// the given per-key rate limit (0: none). Its router lists every registered
// route.
func accessServer(t *testing.T, p *product, rate float64, burst int) (*httptest.Server, *gin.Engine) {
	t.Helper()
	h := app.Handler(api.Config{Store: p.st, Temporal: p.tc, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: p.wcfg.Sealer,
		AdminToken: p.admin, Logger: quietLogger, RateLimit: rate, RateBurst: burst,
		// Each call comes from its own client address (accessCall), so the
		// failed-authentication throttle, tested in api/ and hq/, stays out
		// of this walk's way.
		TrustedProxies: []string{"127.0.0.1", "::1"}})
	eng, ok := h.(*gin.Engine)
	if !ok {
		t.Fatalf("app.Handler is a %T, not a *gin.Engine: the route walk needs its Routes()", h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, eng
}

// Who may call a route.
const (
	anyone   = "anyone"
	admin    = "admin"    // Authorization: Bearer <admin token>
	customer = "customer" // a customer key in X-API-KEY
	printerK = "printer"  // a printer key in X-API-KEY
	hqPage   = "hq"       // an HQ session (signed in with the admin token)
)

// audience decides who may call a route. A route nobody classified fails
// the test: whoever adds a route says here who may call it.
func audience(path string) string {
	switch {
	case path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/openapi.json",
		path == "/hq/hq.css" || path == "/hq/login" || path == "/hq/favicon.svg",
		strings.HasPrefix(path, "/hq/static/"): // the editor bundle: public code, no data
		return anyone
	case strings.HasPrefix(path, "/v1/admin/"):
		return admin
	case strings.HasPrefix(path, "/v1/printer/"):
		return printerK
	case path == "/v1/orders" || strings.HasPrefix(path, "/v1/orders/"):
		return customer
	case strings.HasPrefix(path, "/hq/"):
		return hqPage
	}
	return ""
}

// credential is one way of calling.
type credential struct {
	name   string
	header map[string]string
	hq     bool   // with an HQ session cookie
	body   string // default: {} on POST, PUT and PATCH
}

// TestAccessEveryRoute calls every registered route with each kind of
// credential (and none) and checks who gets in.
func TestAccessEveryRoute(t *testing.T) {
	p := startProduct(t)
	prn := testenv.NewServer(t)
	prn.Default = http.StatusCreated
	a := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON)
	b := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON) // another customer, on another printer
	ts, eng := accessServer(t, p, 0, 0)

	// A's order, at A's printer.
	st, order := p.submit(a.customerKey, "application/json", `{"orderReferenceId": "ACCESS-1", "items": []}`, nil)
	if st != 202 {
		t.Fatalf("submit = %d %v", st, order)
	}
	orderID := order["id"].(string)
	eventually(t, 20*time.Second, "the order to reach its printer", func() bool { return len(prn.Requests()) == 1 })

	// A revoked key of A.
	revoked := p.adminCall("POST", "/v1/admin/customers/"+a.customerID+"/keys", nil, 201)
	p.adminCall("DELETE", "/v1/admin/customers/"+a.customerID+"/keys/"+revoked["id"].(string), nil, 204)

	creds := []credential{
		{name: "none"},
		{name: "wrong admin token", header: map[string]string{"Authorization": "Bearer adm_not_the_token"}},
		{name: "customer key as bearer", header: map[string]string{"Authorization": "Bearer " + a.customerKey}},
		{name: "admin token", header: map[string]string{"Authorization": "Bearer " + p.admin}},
		{name: "customer A", header: map[string]string{"X-API-KEY": a.customerKey}},
		{name: "customer B", header: map[string]string{"X-API-KEY": b.customerKey}},
		{name: "printer of A", header: map[string]string{"X-API-KEY": a.printerKey}},
		{name: "printer of B", header: map[string]string{"X-API-KEY": b.printerKey}},
		{name: "revoked key", header: map[string]string{"X-API-KEY": revoked["key"].(string)}},
		{name: "unknown key", header: map[string]string{"X-API-KEY": "ck_" + strings.Repeat("x", 43)}},
		{name: "hq session", hq: true},
	}
	jar := hqSession(t, ts.URL, p.admin)

	routes := eng.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	checked := 0
	for _, r := range routes {
		who := audience(r.Path)
		if who == "" {
			t.Errorf("route %s %s: no one decided who may call it; add it to audience() in e2e/access_test.go", r.Method, r.Path)
			continue
		}
		path := fillParams(r.Path, orderID)
		for _, c := range creds {
			switch {
			case strings.HasPrefix(r.Path, "/v1/printer/orders/"):
				c.body = `{"eventId": "walk-1", "status": "received"}` // valid, so the order's printer is what decides
			case r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH":
				c.body = "{}"
			}
			status, hdr, body := accessCall(t, ts.URL, jar, r.Method, path, c)
			allowed := mayCall(who, c, b.printerKey)
			refused := status == 401 || status == 403 || (who == hqPage && isLoginRedirect(status, hdr))
			switch {
			case who == anyone:
				if status >= 500 && status != 503 {
					t.Errorf("%s %s with %s = %d %.300s", r.Method, path, c.name, status, body)
				}
			case allowed && refused:
				t.Errorf("%s %s with %s = %d, want it let through", r.Method, path, c.name, status)
			case !allowed && !refused:
				t.Errorf("%s %s with %s = %d %.200s, want it refused (401/403)", r.Method, path, c.name, status, body)
			case status >= 500 && status != 503:
				t.Errorf("%s %s with %s = %d %.300s", r.Method, path, c.name, status, body)
			case refused && who != hqPage && hdr.Get("Content-Type") != "application/problem+json":
				t.Errorf("%s %s with %s = %d as %q, want a problem document", r.Method, path, c.name, status, hdr.Get("Content-Type"))
			}
			checked++
		}
	}
	t.Logf("ACCESS: %d routes × %d credentials = %d calls checked", len(routes), len(creds), checked)

	// Object level: a customer sees only its own orders, a printer posts
	// events only for orders routed to it.
	get := func(key string) int {
		st, _, _ := accessCall(t, ts.URL, nil, "GET", "/v1/orders/"+orderID, credential{header: map[string]string{"X-API-KEY": key}})
		return st
	}
	if st := get(a.customerKey); st != 200 {
		t.Errorf("customer A reading its order = %d, want 200", st)
	}
	if st := get(b.customerKey); st != 404 {
		t.Errorf("customer B reading A's order = %d, want 404 (it does not exist for B)", st)
	}
	ev := func(key string) int {
		st, _, _ := accessCall(t, ts.URL, nil, "POST", "/v1/printer/orders/"+orderID+"/events",
			credential{header: map[string]string{"X-API-KEY": key, "Content-Type": "application/json"}, body: `{"eventId": "acc-1", "status": "received"}`})
		return st
	}
	if st := ev(b.printerKey); st != 403 {
		t.Errorf("printer of B posting for A's order = %d, want 403", st)
	}
	if st := ev(a.printerKey); st != 202 {
		t.Errorf("printer of A posting for its order = %d, want 202", st)
	}
}

// mayCall says whether credential c may call a route of audience who.
func mayCall(who string, c credential, otherPrinter string) bool {
	switch who {
	case admin:
		return c.name == "admin token"
	case hqPage:
		return c.hq
	case customer:
		return c.name == "customer A" || c.name == "customer B" // B's reads of A's order are 404, checked apart
	case printerK:
		// The route checks the order's printer: B's printer gets 403 on A's order.
		return c.name == "printer of A" && c.header["X-API-KEY"] != otherPrinter
	}
	return false
}

func isLoginRedirect(status int, h http.Header) bool {
	return status >= 300 && status < 400 && strings.HasPrefix(h.Get("Location"), "/hq/login")
}

var paramRe = regexp.MustCompile(`[:*][A-Za-z]+`)

// fillParams puts A's order id in order routes and a made-up id elsewhere
// (a 404 still shows the caller got past the access check).
func fillParams(pattern, orderID string) string {
	if strings.HasPrefix(pattern, "/v1/orders/") || strings.HasPrefix(pattern, "/v1/printer/orders/") {
		return strings.Replace(pattern, ":id", orderID, 1)
	}
	return paramRe.ReplaceAllString(pattern, "x_unknown")
}

// accessCall makes one request with c's headers and body (a JSON
// Content-Type unless c sets one); HQ credentials use the signed-in jar and
// POST the session's form without a CSRF token (the page's own check, a
// 403, then shows the session got through the sign-in check).
func accessCall(t *testing.T, base string, jar http.CookieJar, method, path string, c credential) (int, http.Header, string) {
	t.Helper()
	body := c.body
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	accessClients++
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", accessClients>>16&255, accessClients>>8&255, accessClients&255))
	cl := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if c.hq {
		cl.Jar = jar
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	status := resp.StatusCode
	if c.hq && method == "POST" && status == 403 && strings.Contains(string(raw), "CSRF") {
		status = 200 // signed in; only the form token was missing
	}
	return status, resp.Header, string(raw)
}

// accessClients numbers the client addresses accessCall claims.
var accessClients int

// hqSession signs in to HQ with the admin token and returns the cookies.
func hqSession(t *testing.T, base, token string) http.CookieJar {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(base + "/hq/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login nonce on /hq/login: %.300s", page)
	}
	resp, err = cl.PostForm(base+"/hq/login", url.Values{"nonce": {string(m[1])}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("HQ sign-in = %d, want 303", resp.StatusCode)
	}
	return jar
}

// Revoking a key shuts it out at once on this replica (the key cache is
// dropped), and the customer's other keys keep working.
func TestRevokedKeyIsRefusedAtOnce(t *testing.T) {
	p := startProduct(t)
	prn := testenv.NewServer(t)
	s := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON)
	ts, _ := accessServer(t, p, 0, 0)
	call := func(method, path, key, body string) int {
		h := map[string]string{"Authorization": "Bearer " + p.admin}
		if key != "" {
			h = map[string]string{"X-API-KEY": key}
		}
		st, _, _ := accessCall(t, ts.URL, nil, method, path, credential{header: h, body: body})
		return st
	}
	var k struct{ id, key string }
	{
		req, _ := http.NewRequest("POST", ts.URL+"/v1/admin/customers/"+s.customerID+"/keys", nil)
		req.Header.Set("Authorization", "Bearer "+p.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		k.id, k.key = out["id"].(string), out["key"].(string)
	}
	if st := call("GET", "/v1/orders/ord_none", k.key, ""); st != 404 {
		t.Fatalf("new key = %d, want 404 (let in, no such order)", st)
	}
	if st := call("DELETE", "/v1/admin/customers/"+s.customerID+"/keys/"+k.id, "", ""); st != 204 {
		t.Fatalf("revoke = %d", st)
	}
	if st := call("GET", "/v1/orders/ord_none", k.key, ""); st != 401 {
		t.Errorf("revoked key right after revocation = %d, want 401", st)
	}
	if st := call("POST", "/v1/orders", k.key, `{"orderReferenceId": "REVOKED-1"}`); st != 401 {
		t.Errorf("revoked key submitting = %d, want 401", st)
	}
	if st := call("GET", "/v1/orders/ord_none", s.customerKey, ""); st != 404 {
		t.Errorf("the customer's other key = %d, want 404 (still let in)", st)
	}
}

// Each key has its own rate: over it, 429 with Retry-After; other keys are
// not slowed.
func TestRateLimitPerKey(t *testing.T) {
	p := startProduct(t)
	prn := testenv.NewServer(t)
	a := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON)
	b := p.configure(prn.URL, prn.URL, "json", testenv.IntakeJSON)
	ts, _ := accessServer(t, p, 1, 5)
	var statuses []int
	var retryAfter, ctype string
	for range 8 {
		st, h, _ := accessCall(t, ts.URL, nil, "GET", "/v1/orders/ord_none", credential{header: map[string]string{"X-API-KEY": a.customerKey}})
		statuses = append(statuses, st)
		if st == 429 && retryAfter == "" {
			retryAfter, ctype = h.Get("Retry-After"), h.Get("Content-Type")
		}
	}
	n404, n429 := 0, 0
	for _, s := range statuses {
		switch s {
		case 404:
			n404++
		case 429:
			n429++
		}
	}
	// Burst 5 at 1/s: 5 (or 6, if a second passed) get through.
	if n404 < 5 || n404 > 6 || n429 != 8-n404 {
		t.Errorf("8 quick requests = %v, want 5 through then 429", statuses)
	}
	if retryAfter == "" || retryAfter == "0" || ctype != "application/problem+json" {
		t.Errorf("429 with Retry-After %q, Content-Type %q; want seconds and a problem document", retryAfter, ctype)
	}
	if st, _, _ := accessCall(t, ts.URL, nil, "GET", "/v1/orders/ord_none", credential{header: map[string]string{"X-API-KEY": b.customerKey}}); st != 404 {
		t.Errorf("another customer's key = %d, want 404 (not limited by A's traffic)", st)
	}
}
