// Command orderintake runs the order intake and postback gateway:
//
//	orderintake dev      everything in one process (embedded Temporal + Web UI, private Postgres, demo)
//	orderintake api      the HTTP API against TEMPORAL_ADDRESS and DATABASE_URL
//	orderintake worker   the Temporal worker against TEMPORAL_ADDRESS and DATABASE_URL
//	orderintake migrate  apply the database migrations
//	orderintake temporal the embedded Temporal server alone
//	orderintake bench    measure the journey against a bare-Temporal floor; bench goals: issue 14's table; bench history: admin queries at size
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `orderintake: order intake and postback gateway for print-on-demand

usage: orderintake <command>

commands:
  dev       run everything locally: embedded Temporal server and Web UI, a private
            PostgreSQL (unless DATABASE_URL is set), the worker, the API, a demo
            printer, customer and webhook receiver
  api       serve the HTTP API (needs DATABASE_URL, TEMPORAL_ADDRESS, ORDERINTAKE_ADMIN_TOKEN, ORDERINTAKE_SECRET_KEY)
  worker    run the Temporal worker (needs DATABASE_URL, TEMPORAL_ADDRESS, ORDERINTAKE_SECRET_KEY)
  migrate   apply the database migrations to DATABASE_URL
  temporal  run only the embedded Temporal server (and Web UI) on TEMPORAL_ADDRESS,
            data in ORDERINTAKE_DATA_DIR (ORDERINTAKE_TEMPORAL_UI_ADDR=off: no UI)
  bench     measure orders end to end against a bare-Temporal floor (bench -h for flags);
            bench goals: every speed goal measured, with target and met;
            bench history: admin list queries over a million synthetic orders

configuration is read from environment variables; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger()
	var err error
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, log)
	case "api":
		err = runAPI(ctx, log)
	case "worker":
		err = runWorker(ctx, log)
	case "migrate":
		err = runMigrate(ctx, log)
	case "temporal":
		err = runTemporal(ctx, log)
	case "bench":
		err = runBench(ctx, log, os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "orderintake: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("orderintake "+os.Args[1]+" failed", "error", err)
		os.Exit(1)
	}
}

func newLogger() *slog.Logger {
	level := slog.LevelInfo
	if v := os.Getenv("ORDERINTAKE_LOG_LEVEL"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
