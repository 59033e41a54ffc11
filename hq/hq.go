// Package hq is the operators' HTML face: server-rendered pages
// (html/template over typed view structs) at /hq/ for the Requests and
// Postbacks views, the configuration and the template editor. Every page
// reads and acts through the same services as the admin JSON API (package
// service); it calls no HTTP handler. The pages need no JavaScript to read
// or act; the template editor's bundle (web/editor) only adds to them.
package hq

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/internal/throttle"
	"orderintake/overview"
	"orderintake/service"
)

//go:embed pages/*.html pages/*.css
var pagesFS embed.FS

const (
	sessionCookie = "hq_session"
	loginCookie   = "hq_login"
	sessionTTL    = 12 * time.Hour
	// maxLoginForm bounds the /hq/login form (a token, a nonce, a path).
	maxLoginForm = 8 << 10
)

// Sessions keeps HQ sessions server-side (store/sessions.go): by the
// SHA-256 of the cookie's id, so logout and "sign out everywhere" end them
// on every replica at once.
type Sessions interface {
	CreateSession(ctx context.Context, idHash, tokenTag []byte, expires time.Time) error
	SessionValid(ctx context.Context, idHash, tokenTag []byte) error
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteAllSessions(ctx context.Context) (int64, error)
}

// Config is what the pages need: the services they read and act through.
type Config struct {
	Admin    *service.Admin
	Views    *service.Views
	Life     *service.OrderLife
	Overview *overview.Service
	Sessions Sessions
	// Throttle counts failed sign-ins (shared with the API's admin token).
	Throttle   *throttle.Throttle
	AdminToken string
	// PublicURL is the URL operators use: https:// makes cookies Secure and
	// its host passes the Origin check.
	PublicURL string
	Logger    *slog.Logger
}

// HQ serves the pages.
type HQ struct {
	Config
	log *slog.Logger
	// tokenTag ties sessions to the admin token they were opened with:
	// rotating the token ends every session. HMAC keeps the token itself
	// out of the database.
	tokenTag []byte
	secure   bool // cookies get the Secure flag (ORDERINTAKE_PUBLIC_URL is https)
	pages    pageSet
}

// New builds the pages.
func New(cfg Config) *HQ {
	h := &HQ{Config: cfg, log: cfg.Logger, pages: parsePages(), secure: strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://")}
	if h.log == nil {
		h.log = slog.Default()
	}
	mac := hmac.New(sha256.New, []byte(cfg.AdminToken))
	mac.Write([]byte("orderintake hq session v2"))
	h.tokenTag = mac.Sum(nil)
	return h
}

// Mount registers the pages under /hq on r.
func (h *HQ) Mount(r gin.IRouter) {
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
	for _, res := range resources {
		h.resourceRoutes(a, res)
	}
	a.GET("/settings", h.settings)
	a.POST("/settings", h.saveSettings)
	a.POST("/settings/alerts", h.saveAlertSettings)
}

// secureHeaders keeps HQ pages out of frames and caches.
func (h *HQ) secureHeaders(c *gin.Context) {
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	c.Header("Referrer-Policy", "same-origin")
	c.Header("Cache-Control", "no-store")
	c.Next()
}

func (h *HQ) css(c *gin.Context) {
	b, _ := pagesFS.ReadFile("pages/hq.css")
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "text/css; charset=utf-8", b)
}

// ---- sessions and CSRF
//
// A session is a row in hq_sessions: the cookie holds a random id, the
// table only its SHA-256. Expiry is absolute: 12 hours after sign-in,
// whatever the activity. The CSRF token is an HMAC of the session id, so
// every replica derives the same one without storing it.

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
func (h *HQ) setCookie(c *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: h.secure || c.Request.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// requireSession lets signed-in operators through; others go to the login
// page (GET) or are refused (anything else). Every POST must carry the
// session's CSRF token and, when the browser sends one, our own Origin.
func (h *HQ) requireSession(c *gin.Context) {
	id, err := c.Cookie(sessionCookie)
	ok := false
	if err == nil && id != "" {
		switch err := h.Sessions.SessionValid(c.Request.Context(), sessionHash(id), h.tokenTag); oi.ErrorCode(err) {
		case "":
			ok = true
		case oi.ENOTFOUND:
		default:
			h.log.Error("hq session lookup", "error", err)
			h.showProblem(c, &Problem{Status: 503, Title: "Service Unavailable",
				Detail: "cannot check your session right now (the database does not answer): try again shortly"})
			c.Abort()
			return
		}
	}
	if !ok {
		if c.Request.Method == http.MethodGet {
			c.Redirect(http.StatusSeeOther, "/hq/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		} else {
			h.render(c, http.StatusUnauthorized, "login", &loginPage{Page: Page{Problem: &Problem{Status: 401,
				Title: "Unauthorized", Detail: "your session ended: sign in again"}}, LoginNonce: h.newLoginNonce(c)})
		}
		c.Abort()
		return
	}
	csrf := csrfFor(id)
	if c.Request.Method == http.MethodPost {
		if !h.sameOrigin(c) || subtle.ConstantTimeCompare([]byte(c.PostForm("csrf")), []byte(csrf)) != 1 {
			h.showProblem(c, &Problem{Status: 403, Title: "Forbidden",
				Detail: "the form is stale or came from another site (CSRF check failed): reload the page and try again"})
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
func (h *HQ) sameOrigin(c *gin.Context) bool {
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
	if pub, err := url.Parse(h.PublicURL); err == nil && pub.Host != "" && strings.EqualFold(u.Host, pub.Host) {
		return true
	}
	// Behind a proxy that rewrites Host, the browser's host is the forwarded one.
	return strings.EqualFold(u.Host, c.Request.Host) || strings.EqualFold(u.Host, c.GetHeader("X-Forwarded-Host"))
}

// loginPage is the sign-in form.
type loginPage struct {
	Page
	LoginNonce, Next string
}

func (h *HQ) loginPage(c *gin.Context) {
	h.render(c, http.StatusOK, "login", &loginPage{LoginNonce: h.newLoginNonce(c), Next: safeNext(c.Query("next"))})
}

// safeNext keeps post-login redirects on HQ pages (no open redirect).
func safeNext(next string) string {
	if strings.HasPrefix(next, "/hq/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/hq/"
}

func (h *HQ) login(c *gin.Context) {
	ctx := c.Request.Context()
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxLoginForm)
	if err := c.Request.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.showProblem(c, &Problem{Status: 413, Title: "Content Too Large",
				Detail: fmt.Sprintf("the sign-in form takes at most %d bytes", maxLoginForm)})
			return
		}
		h.showProblem(c, &Problem{Status: 400, Title: "Bad Request", Detail: "the sign-in form could not be read: " + err.Error()})
		return
	}
	nonce, _ := c.Cookie(loginCookie)
	next := safeNext(c.PostForm("next"))
	if nonce == "" || !h.sameOrigin(c) || subtle.ConstantTimeCompare([]byte(nonce), []byte(c.PostForm("nonce"))) != 1 {
		h.render(c, http.StatusForbidden, "login", &loginPage{Next: next, LoginNonce: h.newLoginNonce(c),
			Page: Page{Problem: &Problem{Status: 403, Title: "Forbidden", Detail: "the login form expired: try again"}}})
		return
	}
	token := strings.TrimSpace(c.PostForm("token"))
	valid := h.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.AdminToken)) == 1
	if wait := h.Throttle.Attempt(ctx, throttle.ScopeAdmin, c.ClientIP(), func() bool { return !valid }); wait > 0 {
		secs := throttle.RetryAfterSecs(wait)
		c.Header("Retry-After", strconv.Itoa(secs))
		h.showProblem(c, &Problem{Status: 429, Title: "Too Many Requests",
			Detail: fmt.Sprintf("too many failed sign-ins from your address (%d a minute at most): try again in %d seconds",
				throttle.Limit, secs)})
		return
	}
	if !valid {
		h.render(c, http.StatusUnauthorized, "login", &loginPage{Next: next, LoginNonce: h.newLoginNonce(c),
			Page: Page{Problem: &Problem{Status: 401, Title: "Unauthorized", Field: "token", Detail: "that is not the admin token"}}})
		return
	}
	id := randomToken()
	if err := h.Sessions.CreateSession(ctx, sessionHash(id), h.tokenTag, time.Now().Add(sessionTTL)); err != nil {
		h.log.Error("hq session create", "error", err)
		h.render(c, http.StatusServiceUnavailable, "login", &loginPage{Next: next, LoginNonce: h.newLoginNonce(c),
			Page: Page{Problem: &Problem{Status: 503, Title: "Service Unavailable",
				Detail: "cannot open a session right now (the database does not answer): try again shortly"}}})
		return
	}
	h.setCookie(c, loginCookie, "", "/hq/login", -1)
	h.setCookie(c, sessionCookie, id, "/hq", int(sessionTTL.Seconds()))
	c.Redirect(http.StatusSeeOther, next)
}

func (h *HQ) newLoginNonce(c *gin.Context) string {
	nonce := randomToken()
	h.setCookie(c, loginCookie, nonce, "/hq/login", 600)
	return nonce
}

// logout ends this session everywhere (the row is gone), not just in this
// browser.
func (h *HQ) logout(c *gin.Context) {
	if err := h.Sessions.DeleteSession(c.Request.Context(), sessionHash(c.GetString("hq.session"))); err != nil {
		h.log.Error("hq logout", "error", err)
		h.showProblem(c, &Problem{Status: 503, Title: "Service Unavailable",
			Detail: "could not end the session (the database does not answer): it is still valid; try again"})
		return
	}
	h.setCookie(c, sessionCookie, "", "/hq", -1)
	c.Redirect(http.StatusSeeOther, "/hq/login")
}

// logoutEverywhere ends every HQ session, this one included.
func (h *HQ) logoutEverywhere(c *gin.Context) {
	n, err := h.Sessions.DeleteAllSessions(c.Request.Context())
	if err != nil {
		h.log.Error("hq sign out everywhere", "error", err)
		h.showProblem(c, &Problem{Status: 503, Title: "Service Unavailable",
			Detail: "could not end the sessions (the database does not answer): they are still valid; try again"})
		return
	}
	h.log.Info("hq: signed out everywhere", "sessions", n)
	h.setCookie(c, sessionCookie, "", "/hq", -1)
	c.Redirect(http.StatusSeeOther, "/hq/login")
}
