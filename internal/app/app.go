// Package app assembles the product from its parts. cmd/orderintake (dev,
// api, worker) and the benchmark's in-process product build the worker and
// the HTTP face through Open, so what is measured is wired as what runs.
// Handler is the one place the JSON API (package api) and the HQ pages
// (package hq) are put on one router, over one set of services.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"orderintake/api"
	"orderintake/delivery"
	"orderintake/hq"
	"orderintake/internal/seal"
	"orderintake/mapper"
	"orderintake/overview"
	"orderintake/store"
	"orderintake/worker"
)

// Config is what both the worker and the API need.
type Config struct {
	DatabaseURL string
	SecretKey   string // ORDERINTAKE_SECRET_KEY: seals secrets at rest
	// Guard decides which postback destinations may be dialled.
	Guard  *delivery.Guard
	Logger *slog.Logger
	// FailedOrderHold is how long a failed order waits for a resubmit
	// (ORDERINTAKE_FAILED_ORDER_HOLD; 0: 168h).
	FailedOrderHold time.Duration
	// PublicURL prefixes the HQ links in the worker's operator alerts.
	PublicURL string
}

// App holds the shared parts of the worker and the API of one process.
type App struct {
	Store  *store.Store
	Mapper *mapper.Engine
	Sealer *seal.Sealer
	Guard  *delivery.Guard
	Logger *slog.Logger
	// FailedOrderHold goes to the worker (ORDERINTAKE_FAILED_ORDER_HOLD).
	FailedOrderHold time.Duration
	// PublicURL prefixes the HQ links in operator alerts.
	PublicURL string
}

// Open connects to the database and builds the shared parts; Close
// releases them.
func Open(ctx context.Context, cfg Config) (*App, error) {
	sealer, err := seal.New(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Secrets sealed by an older release are bound to their row now (and
	// printer headers sealed); idempotent, so every replica may run it.
	n, err := st.ResealSecrets(ctx, sealer)
	if n > 0 {
		log.Info("resealed secrets at rest", "values", n)
	}
	if err != nil {
		log.Error("some secrets at rest could not be resealed; sends that need them will fail", "error", err)
	}
	guard := cfg.Guard
	if guard == nil {
		guard = &delivery.Guard{}
	}
	return &App{Store: st, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: sealer, Guard: guard, Logger: log,
		FailedOrderHold: cfg.FailedOrderHold, PublicURL: cfg.PublicURL}, nil
}

// Close closes the database pool.
func (a *App) Close() { a.Store.Close() }

// Worker builds the worker (not started) on tc.
func (a *App) Worker(tc client.Client) (sdkworker.Worker, error) {
	return worker.New(tc, worker.Config{Store: a.Store, Mapper: a.Mapper, Sealer: a.Sealer, Guard: a.Guard, Logger: a.Logger,
		FailedOrderHold: a.FailedOrderHold, PublicURL: a.PublicURL})
}

// APIOptions are the API's own settings.
type APIOptions struct {
	AdminToken string
	Namespace  string
	// TemporalUIURL links orders to their workflow in the Web UI ("" = no link).
	TemporalUIURL string
	// Per-key rate limit (0 = none).
	RateLimit float64
	RateBurst int
	// Metrics is the Temporal SDK's registry, served beside the API's own.
	Metrics prometheus.Gatherer
	// PublicURL is the URL operators use; https:// makes HQ cookies Secure.
	PublicURL string
	// TrustedProxies may set X-Forwarded-For (addresses or CIDR prefixes).
	TrustedProxies []string
}

// Server is a process's HTTP face: the JSON API and the HQ pages.
type Server struct{ api *api.Server }

// API builds the HTTP face on tc.
func (a *App) API(tc client.Client, o APIOptions) *Server {
	return &Server{api: api.New(api.Config{Store: a.Store, Temporal: tc, Mapper: a.Mapper, Sealer: a.Sealer, AdminToken: o.AdminToken,
		Namespace: o.Namespace, TemporalUIURL: o.TemporalUIURL, Logger: a.Logger, RateLimit: o.RateLimit, RateBurst: o.RateBurst,
		Metrics: o.Metrics, PublicURL: o.PublicURL, TrustedProxies: o.TrustedProxies})}
}

// Handler is the router to serve on the one listener (see Handler).
func (s *Server) Handler() http.Handler { return mount(s.api) }

// Handler builds the API from cfg and returns the one router a process
// serves: the JSON API with the HQ pages mounted on it, over the API's
// services. Tests that need the HQ pages build their server here too, so
// they exercise the wiring that runs.
func Handler(cfg api.Config) http.Handler { return mount(api.New(cfg)) }

// mount puts the HQ pages on the API's engine. The engine's middleware is
// all in place already, so the pages sit behind the same recovery, limit
// headers and request metrics as the API routes; HQ adds its own security
// headers and sessions. The throttle is the API's: a failed admin token
// and a failed sign-in count against the same address.
func mount(s *api.Server) *gin.Engine {
	r := s.Engine()
	svc := s.Services()
	hq.New(hq.Config{Admin: svc.Admin, Views: svc.Views, Life: svc.Life, Overview: &overview.Service{Store: s.Store, Logger: s.Logger},
		Sessions: s.Store, Throttle: svc.Throttle, AdminToken: s.AdminToken, PublicURL: s.PublicURL, Logger: s.Logger}).Mount(r)
	return r
}
