package main

import (
	"context"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/client"

	"orderintake/internal/app"
	"orderintake/metrics"
	"orderintake/store"
	"orderintake/worker"
)

func runMigrate(ctx context.Context, log *slog.Logger) error {
	c, err := loadConfig(false)
	if err != nil {
		return err
	}
	if c.DatabaseURL == "" {
		return errMissing("DATABASE_URL")
	}
	if err := store.Migrate(ctx, c.DatabaseURL); err != nil {
		return err
	}
	log.Info("migrations applied")
	return nil
}

// connect loads the production configuration and opens the shared parts
// and the Temporal client (recording the SDK's metrics when sdkMetrics);
// close releases them.
func connect(ctx context.Context, log *slog.Logger, needAdmin, sdkMetrics bool) (c *config, p *app.App, tc client.Client, close func(), err error) {
	if c, err = loadConfig(false); err != nil {
		return nil, nil, nil, nil, err
	}
	if err = c.requireProd(needAdmin); err != nil {
		return nil, nil, nil, nil, err
	}
	if p, err = openApp(ctx, c, log); err != nil {
		return nil, nil, nil, nil, err
	}
	if tc, err = dialTemporal(ctx, c, log, sdkMetrics); err != nil {
		p.Close()
		return nil, nil, nil, nil, err
	}
	return c, p, tc, func() { tc.Close(); p.Close() }, nil
}

func runAPI(ctx context.Context, log *slog.Logger) error {
	c, p, tc, close, err := connect(ctx, log, true, true)
	if err != nil {
		return err
	}
	defer close()
	srv := apiServer(p, c, tc, env("ORDERINTAKE_TEMPORAL_UI_URL", ""))
	if !strings.HasPrefix(c.PublicURL, "https://") {
		log.Warn("ORDERINTAKE_PUBLIC_URL is not https: HQ session cookies are sent without Secure (fine on loopback, not behind a TLS proxy)",
			"publicURL", c.PublicURL)
	}
	log.Info("api listening", "addr", c.HTTPAddr)
	return serveHTTP(ctx, c.HTTPAddr, srv.Handler(), log)
}

func runWorker(ctx context.Context, log *slog.Logger) error {
	// The worker serves its SDK metrics only on ORDERINTAKE_METRICS_ADDR;
	// without it they are not recorded at all.
	metricsAddr := env("ORDERINTAKE_METRICS_ADDR", "")
	c, p, tc, close, err := connect(ctx, log, false, metricsAddr != "")
	if err != nil {
		return err
	}
	defer close()
	if err := worker.EnsureSearchAttributes(ctx, tc, c.Namespace); err != nil {
		return err
	}
	w, err := p.Worker(tc)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	log.Info("worker started", "temporal", c.TemporalAddr, "namespace", c.Namespace)
	// The worker has no API: its SDK metrics (activity and workflow task
	// latencies, failures) get their own listener when asked for.
	if metricsAddr != "" {
		go func() {
			if err := serveHTTP(ctx, metricsAddr, metrics.Handler(c.sdkMetrics), log); err != nil {
				log.Error("worker metrics listener", "addr", metricsAddr, "error", err)
			}
		}()
		log.Info("worker metrics", "url", "http://"+metricsAddr+"/metrics")
	}
	<-ctx.Done()
	w.Stop() // waits for running activities to finish (graceful)
	return nil
}
