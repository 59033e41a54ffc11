// Package worker builds the Temporal worker that runs order workflows and
// their activities, with every dependency wired from one Config.
package worker

import (
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"orderintake/activities"
	"orderintake/alerts"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/mapper"
	"orderintake/store"
	"orderintake/workflows"
)

// Config is what a worker needs.
type Config struct {
	Store  *store.Store
	Mapper *mapper.Engine
	Sealer *seal.Sealer
	// Guard decides which postback and printer destinations may be dialled.
	Guard *delivery.Guard
	// Logger is not used: activities and workflows log through the SDK
	// client's logger. Kept so callers that set it still compile.
	Logger *slog.Logger
	// MaxConcurrentActivities bounds parallel deliveries and printer calls (0: SDK default).
	MaxConcurrentActivities int
	// StopTimeout is how long Stop waits for running activities (0: DefaultStopTimeout).
	StopTimeout time.Duration
	// FailedOrderHold is how long a failed order waits for a resubmit
	// (ORDERINTAKE_FAILED_ORDER_HOLD; 0: 168h).
	FailedOrderHold time.Duration
	// PublicURL prefixes the HQ links in operator alerts ("": relative links).
	PublicURL string
}

// DefaultStopTimeout lets in-flight printer calls and deliveries (most take
// well under a second, webhooks at most 15 s) finish on SIGTERM; whatever
// still runs after it is cancelled and retried by another worker.
const DefaultStopTimeout = 30 * time.Second

// Activities wires the activities from cfg.
func Activities(cfg Config) *activities.Activities {
	a := &activities.Activities{
		Store:    cfg.Store,
		Mapper:   cfg.Mapper,
		Webhooks: delivery.NewWebhookSender(cfg.Guard, 0),
		Mailer:   delivery.NewMailer(cfg.Guard, 0),
		Sealer:   cfg.Sealer,
		Printers: delivery.NewPrinterClient(cfg.Guard),

		FailedOrderHold: cfg.FailedOrderHold,
	}
	a.Alerts = &alerts.Alerter{Store: cfg.Store, PublicURL: cfg.PublicURL, Logger: cfg.Logger,
		Notifier: &alerts.Sender{SMTP: a.SMTPSettings, Mailer: a.Mailer, Webhooks: a.Webhooks, Sealer: cfg.Sealer}}
	return a
}

// New builds a worker on the order task queue with everything registered.
func New(c client.Client, cfg Config) (sdkworker.Worker, error) {
	if cfg.Store == nil || cfg.Mapper == nil || cfg.Sealer == nil || cfg.Guard == nil {
		return nil, fmt.Errorf("worker: store, mapper, sealer and guard are required")
	}
	stop := cfg.StopTimeout
	if stop == 0 {
		stop = DefaultStopTimeout
	}
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentActivities,
		// Stop waits this long for running activities (a printer call in
		// flight) to finish; the SDK's default of 0 cancels them at once.
		WorkerStopTimeout: stop,
		Interceptors:      []interceptor.WorkerInterceptor{&heartbeats{}, &orderLogging{}},
	})
	Register(w, Activities(cfg))
	return w, nil
}

// Registry is what Register needs: a worker, or a test environment.
type Registry interface {
	RegisterWorkflow(w any)
	RegisterActivity(a any)
}

// Register registers the workflows and activities.
func Register(r Registry, a *activities.Activities) {
	r.RegisterWorkflow(workflows.OrderWorkflow)
	r.RegisterWorkflow(workflows.PostbackDeliveryWorkflow)
	r.RegisterActivity(a)
}
