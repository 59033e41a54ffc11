package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/charts"
	"orderintake/overview"
)

// The HQ pages are server-rendered html/template pages over the admin JSON
// API: every page handler calls the API in-process (hq.call), so there is
// one implementation of each action and the pages stay thin. They need no
// JavaScript to read or act.

//go:embed hq/*.html hq/*.css
var hqFS embed.FS

const (
	sessionCookie = "hq_session"
	loginCookie   = "hq_login"
	sessionTTL    = 12 * time.Hour
)

type hq struct {
	s      *Server
	engine *gin.Engine
	// tokenTag ties sessions to the admin token they were opened with:
	// rotating the token ends every session. HMAC keeps the token itself
	// out of the database.
	tokenTag []byte
	secure   bool // cookies get the Secure flag (ORDERINTAKE_PUBLIC_URL is https)
	pages    map[string]*template.Template
	// overview computes the /hq/ overview, keeping its aggregates a minute.
	overview *overview.Service
}

// internalCall marks requests HQ pages make to the JSON API in-process, so
// metrics count the page, not its API calls twice.
type internalCall struct{}

func isInternalCall(ctx context.Context) bool { return ctx.Value(internalCall{}) != nil }

func (s *Server) hqRoutes(r *gin.Engine) {
	h := &hq{s: s, engine: r, pages: parsePages(), secure: strings.HasPrefix(strings.ToLower(s.PublicURL), "https://"),
		overview: &overview.Service{Store: s.Store, Logger: s.log}}
	mac := hmac.New(sha256.New, []byte(s.AdminToken))
	mac.Write([]byte("orderintake hq session v2"))
	h.tokenTag = mac.Sum(nil)

	g := r.Group("/hq", h.secureHeaders)
	g.GET("/hq.css", h.css)
	g.GET("/static/:file", h.editorAsset)
	g.GET("/favicon.svg", h.favicon)
	g.GET("/login", h.loginPage)
	g.POST("/login", h.login)

	a := g.Group("", h.requireSession)
	a.GET("/", h.overviewPage)
	a.POST("/logout", h.logout)
	a.POST("/logout-everywhere", h.logoutEverywhere)
	a.GET("/requests", h.requests)
	a.GET("/requests/:id", h.request)
	a.POST("/requests/resubmit", h.bulkResubmit)
	a.POST("/requests/:id/cancel", h.cancelOrder)
	a.POST("/requests/:id/resubmit", h.resubmit)
	a.GET("/postbacks", h.postbacks)
	a.POST("/postbacks/resend", h.bulkResend)
	a.GET("/postbacks/:id", h.postback)
	a.POST("/postbacks/:id/resend", h.resend)
	a.GET("/templates", h.templates)
	a.GET("/templates/new", h.newTemplate)
	a.POST("/templates", h.createTemplate)
	a.POST("/templates/render", h.renderTemplate)
	a.GET("/templates/:id", h.editTemplate)
	a.POST("/templates/:id", h.saveTemplate)
	a.POST("/templates/:id/rollback", h.rollbackTemplate)
	a.POST("/templates/:id/impact", h.impactPreview)
	for _, res := range hqResources {
		h.resourceRoutes(a, res)
	}
	a.GET("/settings", h.settings)
	a.POST("/settings", h.saveSettings)
	a.POST("/settings/alerts", h.saveAlertSettings)
}

// secureHeaders keeps HQ pages out of frames and caches.
func (h *hq) secureHeaders(c *gin.Context) {
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	c.Header("Referrer-Policy", "same-origin")
	c.Header("Cache-Control", "no-store")
	c.Next()
}

func (h *hq) css(c *gin.Context) {
	b, _ := hqFS.ReadFile("hq/hq.css")
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "text/css; charset=utf-8", b)
}

// ---- sessions and CSRF
//
// A session is a row in hq_sessions (store/sessions.go): the cookie holds a
// random id, the table only its SHA-256, so logout and "sign out
// everywhere" end it on every replica at once. Expiry is absolute: 12 hours
// after sign-in, whatever the activity. The CSRF token is an HMAC of the
// session id, so every replica derives the same one without storing it.

// maxLoginForm bounds the /hq/login form (a token, a nonce, a path).
const maxLoginForm = 8 << 10

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte("hq session\x00" + id))
	return h[:]
}

func csrfFor(id string) string {
	mac := hmac.New(sha256.New, []byte(id))
	mac.Write([]byte("orderintake hq csrf v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// setCookie sets an HQ cookie: HttpOnly, SameSite=Strict, Secure when the
// public URL is https or the request came over TLS directly.
func (h *hq) setCookie(c *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: h.secure || c.Request.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// requireSession lets signed-in operators through; others go to the login
// page (GET) or are refused (anything else). Every POST must carry the
// session's CSRF token and, when the browser sends one, our own Origin.
func (h *hq) requireSession(c *gin.Context) {
	id, err := c.Cookie(sessionCookie)
	ok := false
	if err == nil && id != "" {
		switch err := h.s.Store.SessionValid(c.Request.Context(), sessionHash(id), h.tokenTag); oi.ErrorCode(err) {
		case "":
			ok = true
		case oi.ENOTFOUND:
		default:
			h.s.log.Error("hq session lookup", "error", err)
			h.page(c, http.StatusServiceUnavailable, "error", gin.H{"Problem": &problem{Status: 503, Title: "Service Unavailable",
				Detail: "cannot check your session right now (the database does not answer): try again shortly"}})
			c.Abort()
			return
		}
	}
	if !ok {
		if c.Request.Method == http.MethodGet {
			c.Redirect(http.StatusSeeOther, "/hq/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		} else {
			h.page(c, http.StatusUnauthorized, "login", gin.H{"LoginNonce": h.newLoginNonce(c), "Problem": &problem{Status: 401,
				Title: "Unauthorized", Detail: "your session ended: sign in again"}})
		}
		c.Abort()
		return
	}
	csrf := csrfFor(id)
	if c.Request.Method == http.MethodPost {
		if !h.sameOrigin(c) || subtle.ConstantTimeCompare([]byte(c.PostForm("csrf")), []byte(csrf)) != 1 {
			h.page(c, http.StatusForbidden, "error", gin.H{"Problem": &problem{Status: 403, Title: "Forbidden",
				Detail: "the form is stale or came from another site (CSRF check failed): reload the page and try again"}})
			c.Abort()
			return
		}
	}
	c.Set("hq.session", id)
	c.Set("hq.csrf", csrf)
	c.Next()
}

// sameOrigin accepts a request without Origin (older browsers, same-origin
// GETs) or one whose Origin is our own host or public URL. "null" (sandboxed
// frames, some redirects) names no origin and is refused on anything but GET.
func (h *hq) sameOrigin(c *gin.Context) bool {
	o := c.GetHeader("Origin")
	if o == "" {
		return true
	}
	if o == "null" {
		return c.Request.Method == http.MethodGet
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if pub, err := url.Parse(h.s.PublicURL); err == nil && pub.Host != "" && strings.EqualFold(u.Host, pub.Host) {
		return true
	}
	// Behind a proxy that rewrites Host, the browser's host is the forwarded one.
	return strings.EqualFold(u.Host, c.Request.Host) || strings.EqualFold(u.Host, c.GetHeader("X-Forwarded-Host"))
}

func (h *hq) loginPage(c *gin.Context) {
	nonce := randomToken()
	h.setCookie(c, loginCookie, nonce, "/hq/login", 600)
	h.page(c, http.StatusOK, "login", gin.H{"LoginNonce": nonce, "Next": safeNext(c.Query("next"))})
}

// safeNext keeps post-login redirects on HQ pages (no open redirect).
func safeNext(next string) string {
	if strings.HasPrefix(next, "/hq/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/hq/"
}

func (h *hq) login(c *gin.Context) {
	ctx := c.Request.Context()
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxLoginForm)
	if err := c.Request.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.page(c, http.StatusRequestEntityTooLarge, "error", gin.H{"Problem": &problem{Status: 413, Title: "Content Too Large",
				Detail: fmt.Sprintf("the sign-in form takes at most %d bytes", maxLoginForm)}})
			return
		}
		h.page(c, http.StatusBadRequest, "error", gin.H{"Problem": &problem{Status: 400, Title: "Bad Request",
			Detail: "the sign-in form could not be read: " + err.Error()}})
		return
	}
	nonce, _ := c.Cookie(loginCookie)
	next := safeNext(c.PostForm("next"))
	if nonce == "" || !h.sameOrigin(c) || subtle.ConstantTimeCompare([]byte(nonce), []byte(c.PostForm("nonce"))) != 1 {
		h.page(c, http.StatusForbidden, "login", gin.H{"Next": next, "LoginNonce": h.newLoginNonce(c),
			"Problem": &problem{Status: 403, Title: "Forbidden", Detail: "the login form expired: try again"}})
		return
	}
	token := strings.TrimSpace(c.PostForm("token"))
	valid := h.s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.s.AdminToken)) == 1
	if wait := h.s.throttle.attempt(ctx, scopeAdmin, c.ClientIP(), func() bool { return !valid }); wait > 0 {
		secs := retryAfterSecs(wait)
		c.Header("Retry-After", strconv.Itoa(secs))
		h.page(c, http.StatusTooManyRequests, "error", gin.H{"Problem": &problem{Status: 429, Title: "Too Many Requests",
			Detail: fmt.Sprintf("too many failed sign-ins from your address (%d a minute at most): try again in %d seconds",
				authFailureLimit, secs)}})
		return
	}
	if !valid {
		h.page(c, http.StatusUnauthorized, "login", gin.H{"Next": next, "LoginNonce": h.newLoginNonce(c),
			"Problem": &problem{Status: 401, Title: "Unauthorized", Field: "token", Detail: "that is not the admin token"}})
		return
	}
	id := randomToken()
	if err := h.s.Store.CreateSession(ctx, sessionHash(id), h.tokenTag, time.Now().Add(sessionTTL)); err != nil {
		h.s.log.Error("hq session create", "error", err)
		h.page(c, http.StatusServiceUnavailable, "login", gin.H{"Next": next, "LoginNonce": h.newLoginNonce(c),
			"Problem": &problem{Status: 503, Title: "Service Unavailable", Detail: "cannot open a session right now (the database does not answer): try again shortly"}})
		return
	}
	h.setCookie(c, loginCookie, "", "/hq/login", -1)
	h.setCookie(c, sessionCookie, id, "/hq", int(sessionTTL.Seconds()))
	c.Redirect(http.StatusSeeOther, next)
}

func (h *hq) newLoginNonce(c *gin.Context) string {
	nonce := randomToken()
	h.setCookie(c, loginCookie, nonce, "/hq/login", 600)
	return nonce
}

// logout ends this session everywhere (the row is gone), not just in this
// browser.
func (h *hq) logout(c *gin.Context) {
	if err := h.s.Store.DeleteSession(c.Request.Context(), sessionHash(c.GetString("hq.session"))); err != nil {
		h.s.log.Error("hq logout", "error", err)
		h.page(c, http.StatusServiceUnavailable, "error", gin.H{"Problem": &problem{Status: 503, Title: "Service Unavailable",
			Detail: "could not end the session (the database does not answer): it is still valid; try again"}})
		return
	}
	h.setCookie(c, sessionCookie, "", "/hq", -1)
	c.Redirect(http.StatusSeeOther, "/hq/login")
}

// logoutEverywhere ends every HQ session, this one included.
func (h *hq) logoutEverywhere(c *gin.Context) {
	n, err := h.s.Store.DeleteAllSessions(c.Request.Context())
	if err != nil {
		h.s.log.Error("hq sign out everywhere", "error", err)
		h.page(c, http.StatusServiceUnavailable, "error", gin.H{"Problem": &problem{Status: 503, Title: "Service Unavailable",
			Detail: "could not end the sessions (the database does not answer): they are still valid; try again"}})
		return
	}
	h.s.log.Info("hq: signed out everywhere", "sessions", n)
	h.setCookie(c, sessionCookie, "", "/hq", -1)
	c.Redirect(http.StatusSeeOther, "/hq/login")
}

// ---- calling the JSON API in-process

// problem is an application/problem+json document as the API writes it.
type problem struct {
	Status  int    `json:"status"`
	Title   string `json:"title"`
	Code    string `json:"code"`
	Detail  string `json:"detail"`
	Field   string `json:"field"`
	Kind    string `json:"kind"`
	Where   string `json:"where"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Excerpt string `json:"excerpt"`
}

// call runs one admin API request through the router with the admin token
// and decodes a 2xx JSON answer into out (when not nil). Anything else comes
// back as the problem the API wrote.
func (h *hq) call(c *gin.Context, method, path string, body any, out any) *problem {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case csvBody:
		rd, ctype = strings.NewReader(string(b)), "text/csv"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return &problem{Status: 500, Title: "Internal Server Error", Detail: "cannot encode the form"}
		}
		rd = bytes.NewReader(raw)
	}
	ctx := context.WithValue(c.Request.Context(), internalCall{}, true)
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return &problem{Status: 400, Title: "Bad Request", Detail: "HQ could not build the API request"}
	}
	req.Header.Set("Authorization", "Bearer "+h.s.AdminToken)
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	if rec.Code >= 200 && rec.Code < 300 {
		if out != nil && rec.Body.Len() > 0 {
			if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
				return &problem{Status: 500, Title: "Internal Server Error", Detail: "the API answered something HQ cannot read"}
			}
		}
		return nil
	}
	p := &problem{}
	if err := json.Unmarshal(rec.Body.Bytes(), p); err != nil || p.Status == 0 {
		p = &problem{Status: rec.Code, Title: http.StatusText(rec.Code), Detail: strings.TrimSpace(rec.Body.String())}
	}
	return p
}

// csvBody is a request body sent as text/csv.
type csvBody string

// obj and list are decoded API answers.
type (
	obj  = map[string]any
	list struct {
		Items      []obj   `json:"items"`
		NextCursor *string `json:"nextCursor"`
	}
)

// ---- rendering

var hqFuncs = template.FuncMap{
	"str":      str,
	"time":     fmtTime,
	"pretty":   pretty,
	"headers":  headerRows,
	"short":    shortID,
	"badge":    badge,
	"numbered": numbered,
	"jsonText": jsonText,
	"eqs":      func(a, b any) bool { return str(a) == str(b) },
	"truthy":   truthy,
	"pathEsc":  url.PathEscape,
	"link":     overviewLink,
	"millis":   charts.Millis,
	"ms":       apiMillis,
	"queryEsc": url.QueryEscape,
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(hqFuncs).ParseFS(hqFS, "hq/layout.html"))
	entries, err := hqFS.ReadDir("hq")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".html")
		if !ok || name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(hqFS, "hq/"+e.Name()))
	}
	return out
}

var navItems = []struct{ Path, Label string }{
	{"", "Overview"}, {"requests", "Requests"}, {"postbacks", "Postbacks"}, {"customers", "Customers"}, {"printers", "Printers"},
	{"templates", "Templates"}, {"triggers", "Triggers"}, {"lookups", "Lookups"}, {"settings", "Settings"},
}

var notices = map[string]string{
	"saved": "Saved.", "created": "Created.", "revoked": "Key revoked.", "resent": "Resend started: a new attempt is on its way.",
	"tested": "Test sent.", "canceled": "Order canceled.",
	"cancelpending": "Cancel sent: the printer's verdict is not in yet; it shows here when it is.",
	"resubmitted":   "Resubmitted: the order is rendered with the current template and sent again.", "imported": "Rows imported.", "rolledback": "Rolled back: the old version is current again, saved as a new version.",
}

// page renders one HQ page; data gets the fields every page uses.
func (h *hq) page(c *gin.Context, status int, name string, data gin.H) {
	t := h.pages[name]
	if t == nil {
		t = h.pages["error"]
	}
	if data == nil {
		data = gin.H{}
	}
	data["CSRF"] = c.GetString("hq.csrf")
	data["SignedIn"] = data["CSRF"] != ""
	data["Nav"] = navItems
	if _, ok := data["Active"]; !ok {
		data["Active"] = strings.SplitN(strings.TrimPrefix(c.FullPath(), "/hq/"), "/", 2)[0]
	}
	if n := notices[c.Query("notice")]; n != "" && data["Notice"] == nil {
		data["Notice"] = n
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		h.s.log.Error("render hq page", "page", name, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fail shows the problem an API call returned, with its status.
func (h *hq) fail(c *gin.Context, p *problem) {
	h.page(c, p.Status, "error", gin.H{"Problem": p})
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = str(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// fmtTime shows API times (RFC 3339) in UTC, to the second.
func fmtTime(v any) string {
	s := str(v)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func shortID(v any) string {
	s := str(v)
	if len(s) > 14 {
		return s[:14] + "…"
	}
	return s
}

func badge(v any) string {
	switch str(v) {
	case "delivered", "active", "submitted", "shipped", "in_transit", "received", "in_production":
		return "ok"
	case "failed", "exhausted", "aborted", "disabled", "canceled", "returned":
		return "bad"
	}
	return "neutral"
}

type headerRow struct{ Name, Value string }

// headerRows lists a headers object (values strings or lists) by name.
func headerRows(v any) []headerRow {
	m, _ := v.(map[string]any)
	out := make([]headerRow, 0, len(m))
	for k, val := range m {
		out = append(out, headerRow{k, str(val)})
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

func jsonText(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return str(v)
	}
	return string(b)
}

type numberedLine struct {
	N    int
	Text string
}

func numbered(v any) []numberedLine {
	lines := strings.Split(str(v), "\n")
	out := make([]numberedLine, len(lines))
	for i, l := range lines {
		out[i] = numberedLine{i + 1, l}
	}
	return out
}
