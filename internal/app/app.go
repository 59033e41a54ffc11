// Package app assembles the product from its parts. cmd/orderintake (dev,
// api, worker) and the benchmark's in-process product build the worker and
// the API through Open, so what is measured is wired as what runs.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"orderintake/api"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/mapper"
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

// API builds the API server on tc.
func (a *App) API(tc client.Client, o APIOptions) *api.Server {
	return api.New(api.Config{Store: a.Store, Temporal: tc, Mapper: a.Mapper, Sealer: a.Sealer, AdminToken: o.AdminToken,
		Namespace: o.Namespace, TemporalUIURL: o.TemporalUIURL, Logger: a.Logger, RateLimit: o.RateLimit, RateBurst: o.RateBurst,
		Metrics: o.Metrics, PublicURL: o.PublicURL, TrustedProxies: o.TrustedProxies})
}
