// Package api is the HTTP face of orderintake: order intake for customers,
// status events for printers, the admin JSON API and operations endpoints.
// Errors become application/problem+json in one place (errors.go).
package api

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	oi "orderintake"
	"orderintake/internal/seal"
	"orderintake/internal/throttle"
	"orderintake/mapper"
	"orderintake/service"
	"orderintake/store"
)

// Config is what the API needs.
type Config struct {
	Store      *store.Store
	Temporal   client.Client
	Mapper     *mapper.Engine
	Sealer     *seal.Sealer
	AdminToken string
	Namespace  string
	// TemporalUIURL links orders to their workflow in the Web UI ("" = no link).
	TemporalUIURL string
	Logger        *slog.Logger
	// RateLimit is the requests a second each API key may make on average,
	// RateBurst how many at once; 0 means no limit (ORDERINTAKE_RATE_LIMIT).
	RateLimit float64
	RateBurst int
	// PublicURL is the URL operators use (ORDERINTAKE_PUBLIC_URL); https://
	// makes HQ cookies Secure and its origin passes the HQ Origin check.
	PublicURL string
	// TrustedProxies are the addresses or CIDR prefixes whose
	// X-Forwarded-For is believed when throttling by client address
	// (ORDERINTAKE_TRUSTED_PROXIES); none by default: the peer address counts.
	TrustedProxies []string
	// Metrics is served at /metrics beside the API's own (the Temporal SDK's
	// registry from TemporalMetrics); nil = none.
	Metrics prometheus.Gatherer
	// CancelWait is how long a cancel waits for the printer's verdict before
	// answering 202 cancel_pending (0: 30 s, workflows.CancelWait).
	CancelWait time.Duration
}

// Server serves the routes.
type Server struct {
	Config
	log      *slog.Logger
	keys     *keyCache
	limiter  *keyLimiter
	throttle *throttle.Throttle
	// workflows starts and signals workflows; views reads the Requests and
	// Postbacks views (package service).
	workflows *service.Workflows
	views     *service.Views
	// life is the order's life after intake (cancel, resubmit, search,
	// response templates), shared with HQ.
	life *service.OrderLife
	// admin is the operators' configuration and postback actions.
	admin *service.Admin
}

// DefaultPublicURL is ORDERINTAKE_PUBLIC_URL's default (dev).
const DefaultPublicURL = "http://127.0.0.1:8080"

// MaxOrderBody is the largest order body accepted.
const MaxOrderBody = 1 << 20

// New builds a server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = DefaultPublicURL
	}
	s := &Server{Config: cfg, log: cfg.Logger, keys: newKeyCache(cfg.Store, keyCacheTTL, keyCacheSize),
		limiter: newKeyLimiter(cfg.RateLimit, cfg.RateBurst), throttle: throttle.New(cfg.Store, cfg.Logger),
		workflows: &service.Workflows{Temporal: cfg.Temporal, Store: cfg.Store, Log: cfg.Logger},
		views:     &service.Views{Store: cfg.Store, TemporalUIURL: cfg.TemporalUIURL, Namespace: cfg.Namespace},
		life:      service.NewOrderLife(cfg.Temporal, cfg.Store, cfg.Mapper, cfg.Logger)}
	s.life.CancelWait = cfg.CancelWait
	s.admin = &service.Admin{Store: cfg.Store, Mapper: cfg.Mapper, Sealer: cfg.Sealer, Workflows: s.workflows, Views: s.views,
		KeysChanged: s.keys.forget}
	return s
}

// Services are the typed services behind the API's routes. The assembly
// (internal/app) gives the HQ pages these same ones, so a change made
// through either face is seen by the other and failed sign-ins count in
// one throttle.
type Services struct {
	Admin *service.Admin
	Views *service.Views
	Life  *service.OrderLife
	// Throttle counts failed admin authentications by client address.
	Throttle *throttle.Throttle
}

// Services returns the services the routes use.
func (s *Server) Services() Services {
	return Services{Admin: s.admin, Views: s.views, Life: s.life, Throttle: s.throttle}
}

// Handler returns the router of the JSON API alone. A process serves
// Engine with the HQ pages mounted beside it (internal/app.Handler).
func (s *Server) Handler() http.Handler { return s.Engine() }

// Engine builds the router: middleware, operations and API routes. Every
// middleware is in place before it returns, so routes mounted on it
// afterwards (HQ) run behind the same chain (recovery, limit headers,
// request metrics).
func (s *Server) Engine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// gin trusts every proxy by default: anyone could then pick the address
	// the failure throttle counts by sending X-Forwarded-For.
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil {
		panic(fmt.Sprintf("trusted proxies were validated by the caller (ValidTrustedProxies): %v", err))
	}
	r.Use(gin.Recovery(), s.limitHeaders)
	s.opsRoutes(r)
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, oi.Errorf(oi.ENOTFOUND, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.Header("Content-Type", "application/problem+json")
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"type": "https://orderintake.dev/problems/method-not-allowed",
			"title": "Method Not Allowed", "status": 405, "code": "method_not_allowed", "detail": "method not allowed on " + c.Request.URL.Path})
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, Health{Status: "ok"}) })
	r.GET("/readyz", s.readyz)

	v1 := r.Group("/v1")
	cust := v1.Group("", s.requireKey(oi.OwnerCustomer), s.recordRejections)
	cust.POST("/orders", s.respondAs(oi.KindSubmitResponse), s.submitOrder)
	cust.GET("/orders/:id", s.getOrder)
	cust.GET("/orders", s.searchOrders)
	cust.POST("/orders/:id/cancel", s.respondAs(oi.KindCancelResponse), s.cancelOrder)

	prn := v1.Group("/printer", s.requireKey(oi.OwnerPrinter))
	prn.POST("/orders/:id/events", s.printerEvent)

	adm := v1.Group("/admin", s.requireAdmin)
	s.adminRoutes(adm)
	return r
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := ReadyChecks{Postgres: "ok", Temporal: "ok"}
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		checks.Postgres, ready = "unreachable", false
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks.Temporal, ready = "unreachable", false
	}
	if !ready {
		c.JSON(http.StatusServiceUnavailable, Ready{Status: "unready", Checks: checks})
		return
	}
	c.JSON(http.StatusOK, Ready{Status: "ready", Checks: checks})
}

// requireAdmin checks the admin bearer token in constant time. An address
// over the failure limit is refused before its token is even looked at, so
// guessing stops at the limit (HQ's sign-in counts in the same throttle).
func (s *Server) requireAdmin(c *gin.Context) {
	ctx := c.Request.Context()
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	valid := ok && s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.AdminToken)) == 1
	if wait := s.throttle.Attempt(ctx, throttle.ScopeAdmin, c.ClientIP(), func() bool { return !valid }); wait > 0 {
		s.tooManyFailures(c, wait, "admin authentications")
		return
	}
	if !valid {
		s.fail(c, oi.Errorf(oi.EUNAUTHORIZED, "admin routes need Authorization: Bearer <admin token>"))
		return
	}
	c.Next()
}

// ValidTrustedProxies checks ORDERINTAKE_TRUSTED_PROXIES entries (IPs or
// CIDR prefixes) the way the router will read them.
func ValidTrustedProxies(list []string) error {
	// Release mode, as the router runs: an engine made in gin's default
	// debug mode prints "Running in debug mode" on every start.
	gin.SetMode(gin.ReleaseMode)
	return gin.New().SetTrustedProxies(list)
}

// workflowURL links an order's workflow in the Temporal Web UI.
func (s *Server) workflowURL(workflowID string) string { return s.views.WorkflowURL(workflowID) }
