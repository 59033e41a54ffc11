package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"orderintake/internal/app"
	"orderintake/internal/demo"
	"orderintake/internal/pgcluster"
	"orderintake/internal/seal"
	"orderintake/store"
	"orderintake/worker/devstack"
)

func errMissing(name string) error { return fmt.Errorf("set %s (see README.md, Configuration)", name) }

// readOrCreate returns the content of a file in the data dir, creating it
// with make() on first use, so secrets survive restarts of `dev`.
func readOrCreate(path string, make func() string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v := make()
	return v, os.WriteFile(path, []byte(v+"\n"), 0o600)
}

// runDev runs the whole product in one process.
func runDev(ctx context.Context, log *slog.Logger) error {
	started := time.Now()
	c, err := loadConfig(true)
	if err != nil {
		return err
	}
	dataDir, err := c.makeDataDir()
	if err != nil {
		return err
	}
	if c.SecretKey == "" {
		if c.SecretKey, err = readOrCreate(filepath.Join(dataDir, "secret.key"), seal.NewKey); err != nil {
			return fmt.Errorf("secret key: %w", err)
		}
	}
	if c.AdminToken == "" {
		if c.AdminToken, err = readOrCreate(filepath.Join(dataDir, "admin-token"), func() string { return "adm_" + seal.NewKey()[:32] }); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
	}

	if c.DatabaseURL == "" {
		log.Info("starting private PostgreSQL", "dir", filepath.Join(dataDir, "postgres"))
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dataDir, "postgres"), Logger: log})
		if err != nil {
			return err
		}
		defer pg.Stop()
		if err := pg.CreateDatabase(ctx, "orderintake"); err != nil {
			return err
		}
		c.DatabaseURL = pg.URL("orderintake")
	}
	if err := store.Migrate(ctx, c.DatabaseURL); err != nil {
		return err
	}

	log.Info("starting embedded Temporal server", "frontend", c.TemporalAddr, "ui", c.TemporalUIAddr)
	stack, err := devstack.Start(ctx, devstack.Options{DataDir: dataDir, FrontendAddr: c.TemporalAddr, UIAddr: c.TemporalUIAddr,
		Namespace: c.Namespace, SearchAttributes: orderSearchAttributes(), Logger: log})
	if err != nil {
		return fmt.Errorf("start embedded temporal: %w", err)
	}
	defer stack.Stop()
	c.TemporalAddr = stack.FrontendAddress()

	p, err := openApp(ctx, c, log)
	if err != nil {
		return err
	}
	defer p.Close()
	tc, err := dialTemporal(ctx, c, log, true) // the API serves them at /metrics
	if err != nil {
		return err
	}
	defer tc.Close()
	w, err := p.Worker(tc)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	apiLn, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (ORDERINTAKE_HTTP_ADDR): %w", c.HTTPAddr, err)
	}
	apiURL := "http://" + apiLn.Addr().String()

	var keys demo.Keys
	demoURL := ""
	if c.Demo {
		keys, demoURL, err = startDemo(ctx, p, dataDir, apiURL, log)
		if err != nil {
			return err
		}
	}
	srv := apiServer(p, c, tc, stack.UIURL())
	printBanner(c, apiURL, stack.UIURL(), demoURL, keys, time.Since(started))
	return serveListener(ctx, apiLn, srv.Handler(), log)
}

// startDemo serves the demo printer and receiver on a loopback port and
// points the demo customer at them.
func startDemo(ctx context.Context, p *app.App, dataDir, apiURL string, log *slog.Logger) (demo.Keys, string, error) {
	var keys demo.Keys
	raw, err := readOrCreate(filepath.Join(dataDir, "demo-keys.json"), func() string {
		b, _ := json.Marshal(demo.NewKeys())
		return string(b)
	})
	if err == nil {
		err = json.Unmarshal([]byte(raw), &keys)
	}
	if err != nil {
		return keys, "", fmt.Errorf("demo keys: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return keys, "", fmt.Errorf("demo listener: %w", err)
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/printer/orders", &demo.Printer{APIBaseURL: apiURL, Key: keys.Printer, Logger: log})
	mux.Handle("/receiver/webhooks", &demo.Receiver{Logger: log})
	go func() { _ = serveListener(ctx, ln, mux, log) }()
	if err := demo.Seed(ctx, p.Store, p.Sealer, keys, base+"/printer/orders", base+"/receiver/webhooks"); err != nil {
		return keys, "", err
	}
	return keys, base, nil
}

func printBanner(c *config, apiURL, uiURL, demoURL string, keys demo.Keys, took time.Duration) {
	fmt.Printf(`
orderintake dev is running (started in %.1fs). Ctrl-C stops everything; data stays in %s.

  API            %s
  HQ / Requests  %s/v1/admin/requests   (Authorization: Bearer %s)
  Temporal UI    %s
  Temporal       %s (namespace %s)
  Admin token    %s
`, took.Seconds(), c.DataDir, apiURL, apiURL, c.AdminToken, uiURL, c.TemporalAddr, c.Namespace, c.AdminToken)
	if keys.Customer == "" {
		return
	}
	fmt.Printf(`  Demo keys      customer %s
                 printer  %s
  Demo receiver  %s/receiver/webhooks   (the webhooks it got)

Submit a sample order (the demo printer reports received, in production,
shipped and delivered over the next seconds; each fires a webhook):

  curl -sS -X POST %s/v1/orders \
    -H 'X-API-KEY: %s' -H 'Content-Type: application/json' \
    -d '%s'

Then look at it:

  curl -sS %s/v1/admin/requests -H 'Authorization: Bearer %s'
  open %s and search: OrderReferenceId="demo-1001"

`, keys.Customer, keys.Printer, demoURL, apiURL, keys.Customer, demo.SampleOrder, apiURL, c.AdminToken, uiURL)
}
