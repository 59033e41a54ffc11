package main

import (
	"context"
	"log/slog"

	"orderintake/api"
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

func runAPI(ctx context.Context, log *slog.Logger) error {
	c, err := loadConfig(false)
	if err != nil {
		return err
	}
	if err := c.requireProd(true); err != nil {
		return err
	}
	p, err := openParts(ctx, c)
	if err != nil {
		return err
	}
	defer p.store.Close()
	tc, err := dialTemporal(ctx, c, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	srv := p.apiServer(c, tc, log, env("ORDERINTAKE_TEMPORAL_UI_URL", ""))
	log.Info("api listening", "addr", c.HTTPAddr)
	return serveHTTP(ctx, c.HTTPAddr, srv.Handler(), log)
}

func runWorker(ctx context.Context, log *slog.Logger) error {
	c, err := loadConfig(false)
	if err != nil {
		return err
	}
	if err := c.requireProd(false); err != nil {
		return err
	}
	p, err := openParts(ctx, c)
	if err != nil {
		return err
	}
	defer p.store.Close()
	tc, err := dialTemporal(ctx, c, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := worker.EnsureSearchAttributes(ctx, tc, c.Namespace); err != nil {
		return err
	}
	w, err := worker.New(tc, p.workerConfig(log))
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	log.Info("worker started", "temporal", c.TemporalAddr, "namespace", c.Namespace)
	// The worker has no API: its SDK metrics (activity and workflow task
	// latencies, failures) get their own listener when asked for.
	if addr := env("ORDERINTAKE_METRICS_ADDR", ""); addr != "" {
		go func() {
			if err := serveHTTP(ctx, addr, api.MetricsHandler(c.sdkMetrics), log); err != nil {
				log.Error("worker metrics listener", "addr", addr, "error", err)
			}
		}()
		log.Info("worker metrics", "url", "http://"+addr+"/metrics")
	}
	<-ctx.Done()
	w.Stop() // waits for running activities to finish (graceful)
	return nil
}
