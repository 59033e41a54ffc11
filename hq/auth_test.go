package hq_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"orderintake/api"
	"orderintake/internal/webtest"
)

// HQ sign-in: ten wrong tokens, then a readable 429 page with Retry-After.
// Behind a trusted proxy the client named in X-Forwarded-For is throttled,
// not the proxy: another client still signs in.
func TestHQLoginThrottledPerClientBehindTrustedProxy(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{Config: func(c *api.Config) { c.TrustedProxies = []string{"127.0.0.1"} }})
	login := func(token, client string) (int, http.Header, string) {
		b := e.Browser()
		b.Get("/hq/login")
		req, _ := http.NewRequest("POST", e.URL+"/hq/login", strings.NewReader(url.Values{"token": {token}, "nonce": {b.CSRF}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := e.NoFollow(b.C.Jar).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		st, body := b.Read(resp, nil)
		return st, resp.Header, body
	}
	for i := 1; i <= 10; i++ {
		if st, _, _ := login("guess-"+strconv.Itoa(i), "198.51.100.7"); st != 401 {
			t.Fatalf("wrong token %d = %d, want 401", i, st)
		}
	}
	st, hdr, body := login(webtest.AdminToken, "198.51.100.7")
	if st != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(hdr.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "too many failed sign-ins") {
		t.Fatalf("11th sign-in = %d Retry-After %q %s, want a 429 page", st, hdr.Get("Retry-After"), body)
	}
	if st, _, _ := login(webtest.AdminToken, "198.51.100.8"); st != 303 {
		t.Fatalf("another client behind the same proxy = %d, want 303 (signed in)", st)
	}
	// The API throttle is per client too: 198.51.100.7 is refused there,
	// a third client is not.
	if st, _, _ := e.Bearer(webtest.AdminToken, "198.51.100.7"); st != 429 {
		t.Errorf("admin API for the throttled client = %d, want 429", st)
	}
	if st, _, _ := e.Bearer(webtest.AdminToken, "198.51.100.9"); st != 200 {
		t.Errorf("admin API for another client = %d, want 200", st)
	}
}

// Logout ends the session for good (the cookie replayed is refused), "sign
// out everywhere" ends other browsers' sessions, and a session older than
// 12 hours is over.
func TestHQSessionsServerSide(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{})
	// A direct connection, for what the test must see or change behind the
	// server's back (the stored hash, ageing a session).
	db, err := pgx.Connect(context.Background(), e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	u, _ := url.Parse(e.URL + "/hq/")
	cookieOf := func(b *webtest.Browser) string {
		for _, ck := range b.C.Jar.Cookies(u) {
			if ck.Name == "hq_session" {
				return ck.Value
			}
		}
		return ""
	}
	// replay loads a page with a bare session cookie (what a stolen copy would do).
	replay := func(value string) int {
		jar, _ := cookiejar.New(nil)
		jar.SetCookies(u, []*http.Cookie{{Name: "hq_session", Value: value, Path: "/hq"}})
		resp, err := e.NoFollow(jar).Get(e.URL + "/hq/requests")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sessions := func() int {
		var n int
		if err := db.QueryRow(context.Background(), `select count(*) from hq_sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	a := e.Browser()
	a.Login()
	ca := cookieOf(a)
	if ca == "" || replay(ca) != 200 {
		t.Fatalf("fresh session cookie %q does not open a page", ca)
	}
	var stored int
	if err := db.QueryRow(context.Background(), `select count(*) from hq_sessions where id_hash = sha256(convert_to($1, 'UTF8'))`,
		ca).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("the plain session id's hash is stored as is (%d, %v): store a domain-separated hash only", stored, err)
	}
	if st, _ := a.Post("/hq/logout", nil, "csrf"); st != 200 {
		t.Fatalf("logout = %d", st)
	}
	if st := replay(ca); st != 303 {
		t.Errorf("the logged-out cookie replayed = %d, want 303 to login", st)
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d session rows after logout, want 0", n)
	}

	// Sign out everywhere, from a third browser, ends the other two.
	b, c, d := e.Browser(), e.Browser(), e.Browser()
	b.Login()
	c.Login()
	d.Login()
	cb, cc := cookieOf(b), cookieOf(c)
	d.Get("/hq/requests")
	if st, body := d.Post("/hq/logout-everywhere", nil, "csrf"); st != 200 || !strings.Contains(body, `name="nonce"`) {
		t.Fatalf("sign out everywhere = %d (want the login page)", st)
	}
	if replay(cb) != 303 || replay(cc) != 303 {
		t.Errorf("other browsers' sessions survive sign out everywhere")
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d session rows after sign out everywhere, want 0", n)
	}

	// Expiry is absolute, 12 hours after sign-in.
	f := e.Browser()
	f.Login()
	cf := cookieOf(f)
	var left float64
	if err := db.QueryRow(context.Background(), `select extract(epoch from expires_at - created_at) from hq_sessions`).Scan(&left); err != nil ||
		left < 12*3600-5 || left > 12*3600+5 {
		t.Fatalf("session lifetime = %vs (%v), want 43200 (±5)", left, err)
	}
	if _, err := db.Exec(context.Background(), `update hq_sessions set created_at = created_at - interval '12 hours 1 second',
		expires_at = expires_at - interval '12 hours 1 second'`); err != nil {
		t.Fatal(err)
	}
	if st := replay(cf); st != 303 {
		t.Errorf("a session past its 12 hours = %d, want 303 to login", st)
	}
}

// The session cookie is Secure when ORDERINTAKE_PUBLIC_URL is https (TLS
// ends at a proxy), and not with the http default.
func TestHQCookieSecureFromPublicURL(t *testing.T) {
	for _, tc := range []struct {
		public string
		secure bool
	}{{"", false}, {"https://hq.example.com", true}} {
		e := webtest.NewWith(t, webtest.Options{Config: func(c *api.Config) { c.PublicURL = tc.public }})
		b := e.Browser()
		b.Get("/hq/login")
		resp, err := e.NoFollow(b.C.Jar).PostForm(e.URL+"/hq/login", url.Values{"token": {webtest.AdminToken}, "nonce": {b.CSRF}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var sess *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "hq_session" {
				sess = ck
			}
		}
		if resp.StatusCode != 303 || sess == nil || sess.Secure != tc.secure || !sess.HttpOnly || sess.MaxAge != 12*3600 {
			t.Errorf("public URL %q: login %d, cookie %+v; want Secure=%v, HttpOnly, Max-Age 43200", tc.public, resp.StatusCode, sess, tc.secure)
		}
		// X-Forwarded-Proto from anyone no longer decides it.
		if tc.secure {
			continue
		}
		b2 := e.Browser()
		b2.Get("/hq/login")
		req, _ := http.NewRequest("POST", e.URL+"/hq/login", strings.NewReader(url.Values{"token": {webtest.AdminToken}, "nonce": {b2.CSRF}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err = e.NoFollow(b2.C.Jar).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if ck.Name == "hq_session" && ck.Secure {
				t.Errorf("X-Forwarded-Proto made the cookie Secure with an http public URL")
			}
		}
	}
}

// Origin: null (sandboxed frames, data: URLs) is no origin of ours: a form
// posted with it is refused, on login and on every signed-in form.
func TestHQOriginNullRefused(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{})
	b := e.Browser()
	b.Get("/hq/login")
	post := func(path string, form url.Values, origin string) int {
		req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := e.NoFollow(b.C.Jar).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b.Read(resp, nil)
		return resp.StatusCode
	}
	if st := post("/hq/login", url.Values{"token": {webtest.AdminToken}, "nonce": {b.CSRF}}, "null"); st != 403 {
		t.Fatalf("login with Origin: null = %d, want 403", st)
	}
	b.Get("/hq/login")
	if st := post("/hq/login", url.Values{"token": {webtest.AdminToken}, "nonce": {b.CSRF}}, e.URL); st != 303 {
		t.Fatalf("login with our own Origin = %d, want 303", st)
	}
	b.Get("/hq/customers")
	if st := post("/hq/customers", url.Values{"name": {"Framed"}, "referenceId": {"framed"}, "csrf": {b.CSRF}}, "null"); st != 403 {
		t.Errorf("form with Origin: null = %d, want 403", st)
	}
	if n := len(e.Must("GET", "/v1/admin/customers", nil, 200)["items"].([]any)); n != 0 {
		t.Errorf("a refused form created %d customers", n)
	}
}

// The login form's body is bounded.
func TestHQLoginBodyLimited(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{})
	b := e.Browser()
	b.Get("/hq/login")
	resp, err := b.C.PostForm(e.URL+"/hq/login", url.Values{"token": {strings.Repeat("x", 64<<10)}, "nonce": {b.CSRF}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("a 64 KiB login form = %d, want 413", resp.StatusCode)
	}
}

// The HQ sign-in counts in the admin token's throttle: after ten wrong
// tokens on the API from one address, the login form from that address is
// refused too (one throttle, wired by internal/app).
func TestHQLoginCountsInTheAdminTokenThrottle(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{})
	for i := 1; i <= 10; i++ {
		if st, _, body := e.Bearer("wrong-token-"+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i)); st != 401 {
			t.Fatalf("wrong token %d = %d %s, want 401", i, st, body)
		}
	}
	// The HQ login form counts against the same address and scope.
	b := e.Browser()
	b.Get("/hq/login")
	resp, err := b.C.PostForm(e.URL+"/hq/login", url.Values{"token": {webtest.AdminToken}, "nonce": {b.CSRF}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("HQ login from the throttled address = %d, want 429 with Retry-After", resp.StatusCode)
	}
}
