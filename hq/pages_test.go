package hq_test

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/internal/webtest"
)

// t0 is when the recorded orders arrive.
var t0 = webtest.T0

func TestHQLoginSessionAndCSRF(t *testing.T) {
	e := webtest.New(t)
	jar, _ := cookiejar.New(nil)
	c := e.NoFollow(jar)

	resp, err := c.Get(e.URL + "/hq/requests?status=failed")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/hq/login?next="+url.QueryEscape("/hq/requests?status=failed") {
		t.Fatalf("signed-out GET = %d %s, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}

	b := e.BrowserOn(c)
	b.Get("/hq/login")
	st, body := b.Post("/hq/login", url.Values{"token": {"not-the-token"}}, "nonce")
	if st != 401 || !strings.Contains(body, "not the admin token") {
		t.Fatalf("wrong token = %d", st)
	}
	// The login form's nonce must come with its cookie (login CSRF).
	bare := e.BrowserOn(e.NoFollow(nil))
	bare.CSRF = b.CSRF
	st, _ = bare.Post("/hq/login", url.Values{"token": {webtest.AdminToken}}, "nonce")
	if st != 403 {
		t.Fatalf("login without the form's cookie = %d, want 403", st)
	}

	form := url.Values{"token": {webtest.AdminToken}, "nonce": {b.CSRF}, "next": {"/hq/requests?status=failed"}}
	req, _ := http.NewRequest("POST", e.URL+"/hq/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/hq/requests?status=failed" {
		t.Fatalf("login = %d to %q, want 303 back to the page asked for", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "hq_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/hq" ||
		strings.Contains(sess.Value, webtest.AdminToken) {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, path /hq, no token inside (Secure: TestHQCookieSecureFromPublicURL)", sess)
	}
	// Over plain HTTP the cookie cannot be Secure (the browser would drop it).
	b2 := e.Browser()
	b2.Get("/hq/login")
	resp, _ = b2.C.PostForm(e.URL+"/hq/login", url.Values{"token": {webtest.AdminToken}, "nonce": {b2.CSRF}})
	resp.Body.Close()
	u, _ := url.Parse(e.URL + "/hq/")
	for _, ck := range b2.C.Jar.Cookies(u) {
		if ck.Name == "hq_session" && ck.Secure {
			t.Errorf("plain HTTP session cookie is Secure")
		}
	}

	// A forged or tampered cookie is no session.
	forged, _ := cookiejar.New(nil)
	forged.SetCookies(u, []*http.Cookie{{Name: "hq_session", Value: tamper(sess.Value), Path: "/hq"}})
	resp, _ = e.NoFollow(forged).Get(e.URL + "/hq/requests")
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Errorf("tampered session = %d, want 303 to login", resp.StatusCode)
	}

	// Forms need the page's CSRF token and our own origin.
	b2.Get("/hq/customers")
	st, _ = b2.Post("/hq/customers", url.Values{"name": {"Forged"}, "referenceId": {"forged"}, "csrf": {"guess"}}, "")
	if st != 403 {
		t.Errorf("POST with a wrong CSRF token = %d, want 403", st)
	}
	req, _ = http.NewRequest("POST", e.URL+"/hq/customers", strings.NewReader(url.Values{"name": {"Forged"},
		"referenceId": {"forged"}, "csrf": {b2.CSRF}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, _ = b2.C.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin POST = %d, want 403", resp.StatusCode)
	}
	if n := len(e.Must("GET", "/v1/admin/customers", nil, 200)["items"].([]any)); n != 1 {
		t.Fatalf("a refused form changed something: %d customers", n)
	}
	st, _ = b2.Post("/hq/logout", nil, "csrf")
	if st != 200 { // followed to the login page
		t.Errorf("logout = %d", st)
	}
	resp, _ = e.NoFollow(b2.C.Jar).Get(e.URL + "/hq/requests")
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Errorf("after logout = %d, want 303 to login", resp.StatusCode)
	}
}

var tagRE = regexp.MustCompile(`<[^>]+>`)

// text is a page's visible text, whitespace squeezed.
func text(page string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(page, " "))), " ")
}

// section returns the part of a page inside the element with this id.
func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("page has no #%s", id)
	}
	j := strings.Index(page[i:], "</section>")
	if j < 0 {
		j = strings.Index(page[i:], "</table>")
	}
	return text(page[i : i+j])
}

func wants(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, got)
		}
	}
}

// TestHQAnswersTheFourScenarios walks the seed's four support questions
// through the pages, as an operator would.
func TestHQAnswersTheFourScenarios(t *testing.T) {
	e := webtest.New(t)
	delivered, dpb := e.Journey("SHOP-1001", t0, 201, "received", "shipped", "delivered")
	e.Attempt(dpb[0], 200, "delivered", oi.PostbackDelivered)
	printerDown, _ := e.Journey("SHOP-1002", t0.Add(time.Hour), 502)
	_, spb := e.Journey("SHOP-1003", t0.Add(2*time.Hour), 201, "received", "shipped")
	e.Attempt(spb[0], 503, "retry", oi.PostbackPending)
	b := e.Browser()
	b.Login()

	// 1. "My order disappeared": find it by reference, see where it is.
	_, page := b.Get("/hq/requests?q=shop-1003")
	list := text(page)
	wants(t, "requests found by reference", list, "SHOP-1003", "shipped")
	if strings.Contains(list, "SHOP-1001") {
		t.Errorf("search for shop-1003 shows SHOP-1001")
	}
	_, page = b.Get("/hq/requests?q=SHOP-9999")
	wants(t, "search for an order that never came", text(page), "No requests match", "never reached us")

	// Date range: whole UTC days, "to" included.
	_, page = b.Get("/hq/requests?from=2026-11-20&to=2026-11-20")
	wants(t, "requests on 2026-11-20", text(page), "SHOP-1001", "SHOP-1002", "SHOP-1003")
	_, page = b.Get("/hq/requests?from=2026-11-21")
	if strings.Contains(page, "SHOP-100") {
		t.Errorf("requests from 2026-11-21 show orders of the 20th")
	}
	_, page = b.Get("/hq/requests?from=20.11.2026")
	wants(t, "a date the filter cannot read", text(page), "422", "from must be a date")

	// 2. "The customer never got a shipping notification".
	_, page = b.Get("/hq/postbacks?event=shipped&q=SHOP-1003")
	wants(t, "shipped postbacks of SHOP-1003", section(t, page, "postbacks"), "shipped", "SHOP-1003", "pending", "1")
	_, page = b.Get("/hq/postbacks/" + spb[0])
	wants(t, "the postback's attempts", section(t, page, "attempts"), "HTTP 503", "retry", "127.0.0.1")
	wants(t, "the postback page", text(page), "Next attempt", "Resend now", `"event": "shipped"`)

	// 3. "The printer says it never got the order".
	_, page = b.Get("/hq/requests/" + printerDown)
	wants(t, "final request pane", section(t, page, "pane-final"), "POST "+e.Fx.Printer.URL, "Idempotency-Key")
	wants(t, "system response pane", section(t, page, "pane-response"), "HTTP 502", "120 ms", "attempt 1")

	// 4. "The wrong product was made": what came in, what the template made,
	// what went out, side by side (bodies pretty-printed).
	_, page = b.Get("/hq/requests/" + delivered)
	wants(t, "original pane", section(t, page, "pane-original"), `"sku": "MUG-WHITE"`, `"quantity": 2`)
	wants(t, "template pane", section(t, page, "pane-template"), "version 3", `"copies": 2`)
	wants(t, "final pane", section(t, page, "pane-final"), `"copies": 2`)
	wants(t, "timeline", section(t, page, "timeline"), "received", "shipped", "delivered", "TRK-SHOP-1001")
	wants(t, "order postbacks", section(t, page, "order-postbacks"), "shipped", "delivered")
	if !strings.Contains(page, `href="http://127.0.0.1:8233/namespaces/default/workflows/order%2F`) {
		t.Errorf("request page has no link to the workflow in the Temporal Web UI")
	}
	st, page := b.Get("/hq/requests/ord_nope")
	if st != 404 || !strings.Contains(page, "not found") {
		t.Errorf("unknown order page = %d", st)
	}
}

func TestHQConfigPages(t *testing.T) {
	e := webtest.New(t)
	b := e.Browser()
	b.Login()

	// Create a customer through the form; a problem keeps what was typed.
	b.Get("/hq/customers")
	st, page := b.Post("/hq/customers", url.Values{"name": {""}, "referenceId": {"poster-shop"}}, "csrf")
	if st != 422 || !strings.Contains(text(page), "name is required") || !strings.Contains(page, `value="poster-shop"`) {
		t.Fatalf("create customer without a name = %d", st)
	}
	st, page = b.Post("/hq/customers", url.Values{"name": {"Poster Shop"}, "referenceId": {"poster-shop"},
		"printerId": {e.Fx.Printer.ID}}, "csrf")
	if st != 200 || !strings.Contains(text(page), "Created.") || !strings.Contains(page, `value="Poster Shop"`) {
		t.Fatalf("create customer = %d %s", st, text(page))
	}
	var cust map[string]any
	for _, it := range e.Must("GET", "/v1/admin/customers", nil, 200)["items"].([]any) {
		if it.(map[string]any)["referenceId"] == "poster-shop" {
			cust = it.(map[string]any)
		}
	}
	if cust == nil || cust["printerId"] != e.Fx.Printer.ID {
		t.Fatalf("customer created through the page = %v", cust)
	}
	cpath := "/hq/customers/" + cust["id"].(string)

	// A key is shown once, then only its prefix.
	st, page = b.Post(cpath+"/keys", nil, "csrf")
	m := regexp.MustCompile(`<code id="secret">(ck_[^<]+)</code>`).FindStringSubmatch(page)
	if st != 201 || m == nil {
		t.Fatalf("create key = %d, no key shown", st)
	}
	if st, _, _, _ := e.Do("GET", "/v1/orders/ord_x", map[string]string{"X-API-KEY": m[1]}, ""); st != 404 {
		t.Errorf("the key shown does not authenticate: %d", st)
	}
	_, page = b.Get(cpath)
	if strings.Contains(page, m[1]) || !strings.Contains(page, m[1][:10]) {
		t.Errorf("customer page after creating a key must show its prefix only")
	}
	revoke := regexp.MustCompile(`action="(/hq/customers/[^"]+/revoke)"`).FindStringSubmatch(page)
	if revoke == nil {
		t.Fatal("no revoke button")
	}
	b.Post(revoke[1], nil, "csrf")
	if st, _, _, _ := e.Do("GET", "/v1/orders/ord_x", map[string]string{"X-API-KEY": m[1]}, ""); st != 401 {
		t.Errorf("revoked key = %d, want 401", st)
	}

	// Printers: headers as "Name: value" lines.
	b.Get("/hq/printers")
	st, page = b.Post("/hq/printers", url.Values{"name": {"Print Co"}, "url": {"https://print.example/orders"}, "format": {"xml"},
		"headers": {"X-Account: 42\nX-Region: eu"}, "timeoutMs": {"5000"}}, "csrf")
	// Header values are write-only (often the printer's credentials): shown masked.
	if st != 200 || !strings.Contains(page, "X-Account: ••••") || strings.Contains(page, "X-Account: 42") {
		t.Fatalf("create printer = %d %s", st, text(page))
	}
	st, page = b.Post("/hq/printers", url.Values{"name": {"Bad"}, "url": {"https://p.example"}, "headers": {"no colon here"}}, "csrf")
	if st != 422 || !strings.Contains(text(page), "must look like Name: value") {
		t.Errorf("printer with a bad header line = %d", st)
	}

	// Triggers: the signing secret is shown once on creation.
	b.Get("/hq/triggers")
	tpl := ""
	for _, it := range e.Must("GET", "/v1/admin/templates", nil, 200)["items"].([]any) {
		if it.(map[string]any)["kind"] == "webhook" {
			tpl = it.(map[string]any)["id"].(string)
		}
	}
	st, page = b.Post("/hq/triggers", url.Values{"customerId": {e.Fx.Customer.ID}, "name": {"returns"}, "event": {"returned"},
		"method": {"url"}, "templateId": {tpl}, "format": {"json"}, "url": {"https://shop.example/returns"},
		"retryOnFailure": {"on"}, "status": {"active"}}, "csrf")
	if st != 201 || !regexp.MustCompile(`<code id="secret">whsec_`).MatchString(page) {
		t.Fatalf("create trigger = %d %s", st, text(page))
	}

	// Settings: the password is write-only.
	b.Get("/hq/settings")
	st, _ = b.Post("/hq/settings", url.Values{"fromAddress": {"orders@psp.example"}, "fromName": {"PSP"}, "host": {"smtp.psp.example"},
		"port": {"587"}, "username": {"psp"}, "password": {"s3cret-pw"}, "tls": {"on"}}, "csrf")
	_, page = b.Get("/hq/settings")
	if st != 200 || strings.Contains(page, "s3cret-pw") || !strings.Contains(page, "one is set") || !strings.Contains(page, `value="smtp.psp.example"`) {
		t.Errorf("settings = %d %s", st, text(page))
	}
	st, page = b.Post("/hq/settings", url.Values{"fromAddress": {"not an address"}, "host": {"smtp.psp.example"}}, "csrf")
	if st != 422 || !strings.Contains(page, "fromAddress") {
		t.Errorf("bad settings = %d", st)
	}
}

// TestHQTemplateEditorMarksTheErrorLine: saving a template with a syntax
// error shows the body with the failing line marked.
func TestHQTemplateEditorMarksTheErrorLine(t *testing.T) {
	e := webtest.New(t)
	b := e.Browser()
	b.Login()
	b.Get("/hq/templates/new")
	body := "{\n  \"ref\": \"{{ orderReferenceId }}\",\n  \"n\": {{ items | length }\n}"
	st, page := b.Post("/hq/templates", url.Values{"name": {"broken"}, "kind": {"intake"}, "format": {"json"}, "body": {body}}, "csrf")
	mark := regexp.MustCompile(`<div class="line errline" id="errline"><span class="ln">(\d+)</span>`).FindStringSubmatch(page)
	if st != 422 || mark == nil || mark[1] != "3" {
		t.Fatalf("save with a syntax error = %d, marked line %v, want 3:\n%s", st, mark, text(page))
	}
	st, page = b.Post("/hq/templates", url.Values{"name": {"ok"}, "kind": {"intake"}, "format": {"json"},
		"body": {`{"ref": "{{ orderReferenceId }}"}`}}, "csrf")
	if st != 200 || !strings.Contains(text(page), "Created.") {
		t.Fatalf("create template = %d", st)
	}
	id := regexp.MustCompile(`action="/hq/templates/(tpl_[a-z0-9]+)"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("editor has no save action")
	}
	st, page = b.Post("/hq/templates/"+id[1], url.Values{"name": {"ok"}, "kind": {"intake"}, "format": {"json"},
		"body": {`{"ref": "{{ orderReferenceId }}", "v": 2}`}}, "csrf")
	if st != 200 || !strings.Contains(page, "v2 ·") {
		t.Errorf("save a new version = %d", st)
	}
	// Version 1 can be loaded into the editor, or rolled back to.
	_, page = b.Get("/hq/templates/" + id[1] + "?version=1")
	if !strings.Contains(page, html.EscapeString(`{"ref": "{{ orderReferenceId }}"}`)+"</textarea>") {
		t.Errorf("version 1 not loaded into the editor")
	}
	st, page = b.Post("/hq/templates/"+id[1]+"/rollback", url.Values{"version": {"1"}}, "csrf")
	if v, _ := e.Store.GetTemplate(context.Background(), id[1]); st != 200 || v.Version != 3 || v.Body != `{"ref": "{{ orderReferenceId }}"}` ||
		!strings.Contains(text(page), "Rolled back") {
		t.Errorf("roll back to v1 = %d, template now v%d %q", st, v.Version, v.Body)
	}

	// Render: the output, or the error with its line marked.
	st, page = b.Post("/hq/templates/render", url.Values{"kind": {"intake"}, "format": {"json"},
		"body": {`{"ref": "{{ orderReferenceId }}", "n": {{ items | length }}}`}, "input": {`{"orderReferenceId": "R-9", "items": [1, 2]}`}}, "csrf")
	if out := regexp.MustCompile(`(?s)<pre class="body" id="output">(.*?)</pre>`).FindStringSubmatch(page); st != 200 || out == nil ||
		!strings.Contains(html.UnescapeString(out[1]), `"ref": "R-9"`) || !strings.Contains(html.UnescapeString(out[1]), `"n": 2`) {
		t.Fatalf("render = %d, output %v", st, out)
	}
	st, page = b.Post("/hq/templates/render", url.Values{"kind": {"intake"}, "format": {"json"}, "body": {body}, "input": {`{}`}}, "csrf")
	mark = regexp.MustCompile(`<div class="line errline" id="errline"><span class="ln">(\d+)</span>`).FindStringSubmatch(page)
	if mark == nil || mark[1] != "3" {
		t.Errorf("render with a syntax error = %d, marked line %v, want 3", st, mark)
	}
	st, page = b.Post("/hq/templates/render", url.Values{"kind": {"intake"}, "format": {"json"}, "body": {"{}"}, "input": {`{"a": `}}, "csrf")
	if st != 422 || !strings.Contains(text(page), "sample input must be JSON") {
		t.Errorf("render with a broken input = %d", st)
	}
}

func TestHQLookupPages(t *testing.T) {
	e := webtest.New(t)
	b := e.Browser()
	b.Login()
	b.Get("/hq/lookups")
	st, page := b.Post("/hq/lookups", url.Values{"customerId": {e.Fx.Customer.ID}, "name": {"sku"}, "default": {"UNKNOWN"}}, "csrf")
	if st != 200 || !strings.Contains(text(page), "Created.") {
		t.Fatalf("create lookup = %d %s", st, text(page))
	}
	path := regexp.MustCompile(`action="(/hq/lookups/lkp_[a-z0-9]+)/rows"`).FindStringSubmatch(page)
	if path == nil {
		t.Fatal("lookup page has no import form")
	}
	st, page = b.Post(path[1]+"/rows", url.Values{"csv": {"key,value\nMUG-WHITE,MUG-11OZ-W\nPOSTER-A3,PST-A3"}}, "csrf")
	if st != 200 || !strings.Contains(text(page), "Rows imported") {
		t.Fatalf("import = %d", st)
	}
	wants(t, "rows", section(t, page, "rows"), "MUG-WHITE MUG-11OZ-W", "POSTER-A3 PST-A3")
	st, page = b.Post(path[1]+"/rows", url.Values{"csv": {"A,1\nA,2"}}, "csrf")
	if st != 422 || !strings.Contains(text(page), "line") {
		t.Errorf("import with a repeated key = %d %s", st, text(page))
	}
	_, page = b.Get("/hq/lookups")
	wants(t, "lookups list", section(t, page, "lookups"), "sku", "Shop", "UNKNOWN")
}

// tamper changes the last character of a cookie value.
func tamper(v string) string {
	last := "A"
	if strings.HasSuffix(v, "A") {
		last = "B"
	}
	return v[:len(v)-1] + last
}
