package api_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
	"orderintake/api"
	"orderintake/internal/app"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/store"
)

// authEnv is the API on its own migrated database, built from cfg, plus a
// direct connection for what a test must change behind the API's back
// (ageing a session).
type authEnv struct {
	*env
	db *pgx.Conn
}

func newAuthEnv(t *testing.T, mod func(*api.Config)) *authEnv {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	if err := store.Migrate(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	cfg := api.Config{Store: st, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: testenv.Sealer(t), AdminToken: adminToken, Logger: quiet}
	if mod != nil {
		mod(&cfg)
	}
	e := &env{t: t, st: st, srv: httptest.NewServer(app.Handler(cfg))}
	t.Cleanup(e.srv.Close)
	return &authEnv{env: e, db: db}
}

// bearer calls an admin route with token, from the client address xff
// names (believed only from a trusted proxy).
func (e *authEnv) bearer(token, xff string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/admin/customers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

// Ten wrong admin tokens a minute from one address are answered 401; the
// eleventh attempt is 429 with Retry-After, even with the right token, and
// X-Forwarded-For from an untrusted peer does not get around it.
func TestAdminTokenThrottled(t *testing.T) {
	e := newAuthEnv(t, nil)
	for i := 1; i <= 10; i++ {
		if st, _, body := e.bearer("wrong-token-"+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i)); st != 401 {
			t.Fatalf("wrong token %d = %d %s, want 401", i, st, body)
		}
	}
	st, hdr, body := e.bearer("wrong-token-11", "")
	secs, _ := strconv.Atoi(hdr.Get("Retry-After"))
	if st != 429 || secs < 1 || secs > 60 || hdr.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(body, `"code":"rate_limited"`) {
		t.Fatalf("11th failure = %d Retry-After %q %s %s, want 429 problem+json with Retry-After 1..60",
			st, hdr.Get("Retry-After"), hdr.Get("Content-Type"), body)
	}
	if st, _, _ := e.bearer(adminToken, "203.0.113.9"); st != 429 {
		t.Fatalf("right token from the throttled address = %d, want 429 (else guessing goes on)", st)
	}
	// The HQ login form counts against the same address and scope.
	b := e.browser()
	b.get("/hq/login")
	resp, err := b.c.PostForm(e.srv.URL+"/hq/login", url.Values{"token": {adminToken}, "nonce": {b.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("HQ login from the throttled address = %d, want 429 with Retry-After", resp.StatusCode)
	}
}

// HQ sign-in: ten wrong tokens, then a readable 429 page with Retry-After.
// Behind a trusted proxy the client named in X-Forwarded-For is throttled,
// not the proxy: another client still signs in.
func TestHQLoginThrottledPerClientBehindTrustedProxy(t *testing.T) {
	e := newAuthEnv(t, func(c *api.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	login := func(token, client string) (int, http.Header, string) {
		b := e.browser()
		b.get("/hq/login")
		req, _ := http.NewRequest("POST", e.srv.URL+"/hq/login", strings.NewReader(url.Values{"token": {token}, "nonce": {b.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := e.noFollow(b.c.Jar).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		st, body := b.read(resp, nil)
		return st, resp.Header, body
	}
	for i := 1; i <= 10; i++ {
		if st, _, _ := login("guess-"+strconv.Itoa(i), "198.51.100.7"); st != 401 {
			t.Fatalf("wrong token %d = %d, want 401", i, st)
		}
	}
	st, hdr, body := login(adminToken, "198.51.100.7")
	if st != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(hdr.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "too many failed sign-ins") {
		t.Fatalf("11th sign-in = %d Retry-After %q %s, want a 429 page", st, hdr.Get("Retry-After"), body)
	}
	if st, _, _ := login(adminToken, "198.51.100.8"); st != 303 {
		t.Fatalf("another client behind the same proxy = %d, want 303 (signed in)", st)
	}
	// The API throttle is per client too: 198.51.100.7 is refused there,
	// a third client is not.
	if st, _, _ := e.bearer(adminToken, "198.51.100.7"); st != 429 {
		t.Errorf("admin API for the throttled client = %d, want 429", st)
	}
	if st, _, _ := e.bearer(adminToken, "198.51.100.9"); st != 200 {
		t.Errorf("admin API for another client = %d, want 200", st)
	}
}

// A client trying unknown API keys gets 429 after ten; a known key from
// elsewhere keeps working.
func TestUnknownKeysThrottled(t *testing.T) {
	e := newAuthEnv(t, func(c *api.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	cust, err := e.st.CreateCustomer(context.Background(), &oi.Customer{Name: "Shop", ReferenceID: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.st.CreateKey(context.Background(), oi.OwnerCustomer, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	get := func(k, client string) (int, http.Header) {
		st, _, resp, _ := e.do("GET", "/v1/orders/nope", map[string]string{"X-API-KEY": k, "X-Forwarded-For": client}, "")
		return st, resp.Header
	}
	for i := 1; i <= 10; i++ {
		if st, _ := get("ck_guess_"+strconv.Itoa(i), "192.0.2.50"); st != 401 {
			t.Fatalf("unknown key %d = %d, want 401", i, st)
		}
	}
	if st, hdr := get("ck_guess_11", "192.0.2.50"); st != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("11th unknown key = %d (Retry-After %q), want 429", st, hdr.Get("Retry-After"))
	}
	// The right key from the guessing address is refused as well: a guess
	// that happens to hit must not get through.
	if st, _ := get(key.Key, "192.0.2.50"); st != 429 {
		t.Errorf("a valid key first seen from the throttled address = %d, want 429", st)
	}
	if st, _ := get(key.Key, "192.0.2.51"); st != 404 {
		t.Errorf("the valid key from another address = %d, want 404 (authenticated; no such order)", st)
	}
}

// Logout ends the session for good (the cookie replayed is refused), "sign
// out everywhere" ends other browsers' sessions, and a session older than
// 12 hours is over.
func TestHQSessionsServerSide(t *testing.T) {
	e := newAuthEnv(t, nil)
	u, _ := url.Parse(e.srv.URL + "/hq/")
	cookieOf := func(b *browser) string {
		for _, ck := range b.c.Jar.Cookies(u) {
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
		resp, err := e.noFollow(jar).Get(e.srv.URL + "/hq/requests")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sessions := func() int {
		var n int
		if err := e.db.QueryRow(context.Background(), `select count(*) from hq_sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	a := e.browser()
	a.login()
	ca := cookieOf(a)
	if ca == "" || replay(ca) != 200 {
		t.Fatalf("fresh session cookie %q does not open a page", ca)
	}
	var stored int
	if err := e.db.QueryRow(context.Background(), `select count(*) from hq_sessions where id_hash = sha256(convert_to($1, 'UTF8'))`,
		ca).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("the plain session id's hash is stored as is (%d, %v): store a domain-separated hash only", stored, err)
	}
	if st, _ := a.post("/hq/logout", nil, "csrf"); st != 200 {
		t.Fatalf("logout = %d", st)
	}
	if st := replay(ca); st != 303 {
		t.Errorf("the logged-out cookie replayed = %d, want 303 to login", st)
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d session rows after logout, want 0", n)
	}

	// Sign out everywhere, from a third browser, ends the other two.
	b, c, d := e.browser(), e.browser(), e.browser()
	b.login()
	c.login()
	d.login()
	cb, cc := cookieOf(b), cookieOf(c)
	d.get("/hq/requests")
	if st, body := d.post("/hq/logout-everywhere", nil, "csrf"); st != 200 || !strings.Contains(body, `name="nonce"`) {
		t.Fatalf("sign out everywhere = %d (want the login page)", st)
	}
	if replay(cb) != 303 || replay(cc) != 303 {
		t.Errorf("other browsers' sessions survive sign out everywhere")
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d session rows after sign out everywhere, want 0", n)
	}

	// Expiry is absolute, 12 hours after sign-in.
	f := e.browser()
	f.login()
	cf := cookieOf(f)
	var left float64
	if err := e.db.QueryRow(context.Background(), `select extract(epoch from expires_at - created_at) from hq_sessions`).Scan(&left); err != nil ||
		left < 12*3600-5 || left > 12*3600+5 {
		t.Fatalf("session lifetime = %vs (%v), want 43200 (±5)", left, err)
	}
	if _, err := e.db.Exec(context.Background(), `update hq_sessions set created_at = created_at - interval '12 hours 1 second',
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
		e := newAuthEnv(t, func(c *api.Config) { c.PublicURL = tc.public })
		b := e.browser()
		b.get("/hq/login")
		resp, err := e.noFollow(b.c.Jar).PostForm(e.srv.URL+"/hq/login", url.Values{"token": {adminToken}, "nonce": {b.csrf}})
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
		b2 := e.browser()
		b2.get("/hq/login")
		req, _ := http.NewRequest("POST", e.srv.URL+"/hq/login", strings.NewReader(url.Values{"token": {adminToken}, "nonce": {b2.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err = e.noFollow(b2.c.Jar).Do(req)
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
	e := newAuthEnv(t, nil)
	b := e.browser()
	b.get("/hq/login")
	post := func(path string, form url.Values, origin string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := e.noFollow(b.c.Jar).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b.read(resp, nil)
		return resp.StatusCode
	}
	if st := post("/hq/login", url.Values{"token": {adminToken}, "nonce": {b.csrf}}, "null"); st != 403 {
		t.Fatalf("login with Origin: null = %d, want 403", st)
	}
	b.get("/hq/login")
	if st := post("/hq/login", url.Values{"token": {adminToken}, "nonce": {b.csrf}}, e.srv.URL); st != 303 {
		t.Fatalf("login with our own Origin = %d, want 303", st)
	}
	b.get("/hq/customers")
	if st := post("/hq/customers", url.Values{"name": {"Framed"}, "referenceId": {"framed"}, "csrf": {b.csrf}}, "null"); st != 403 {
		t.Errorf("form with Origin: null = %d, want 403", st)
	}
	if n := len(e.must("GET", "/v1/admin/customers", nil, 200)["items"].([]any)); n != 0 {
		t.Errorf("a refused form created %d customers", n)
	}
}

// The login form's body is bounded.
func TestHQLoginBodyLimited(t *testing.T) {
	e := newAuthEnv(t, nil)
	b := e.browser()
	b.get("/hq/login")
	resp, err := b.c.PostForm(e.srv.URL+"/hq/login", url.Values{"token": {strings.Repeat("x", 64<<10)}, "nonce": {b.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("a 64 KiB login form = %d, want 413", resp.StatusCode)
	}
}

// A burst of parallel guesses gets no more than the limit: ten are answered
// 401, every other 429 (attempts of one address are serialized, so they
// cannot all pass the check before the first failures are counted).
func TestAdminTokenBurstGetsTenTries(t *testing.T) {
	e := newAuthEnv(t, nil)
	const n = 40
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, _ := e.bearer("adm_parallel_guess_"+strconv.Itoa(i), "")
			statuses <- st
		}()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for st := range statuses {
		got[st]++
	}
	if got[401] != 10 || got[429] != n-10 {
		t.Fatalf("%d parallel wrong tokens answered %v, want 10 × 401 and %d × 429", n, got, n-10)
	}
}
