package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"orderintake/api"
	"orderintake/delivery"
	"orderintake/internal/app"
	"orderintake/internal/temporaltls"
	"orderintake/metrics"
)

// config is the environment, with the defaults of README.md.
type config struct {
	HTTPAddr       string
	AdminToken     string
	DataDir        string
	DatabaseURL    string
	TemporalAddr   string
	Namespace      string
	TemporalUIAddr string
	SecretKey      string
	AllowPrivate   bool
	AllowList      []netip.Prefix
	Demo           bool
	// PublicURL is the URL operators use (https: Secure HQ cookies);
	// TrustedProxies whose X-Forwarded-For names the client.
	PublicURL      string
	TrustedProxies []string
	// TemporalTLS is mTLS to a Temporal cluster (TEMPORAL_TLS_*); nil: plain.
	TemporalTLS *tls.Config
	// Per-key rate limit (see limits.go).
	RateLimit float64
	RateBurst int
	// FailedOrderHold is how long a failed order waits for a resubmit
	// (ORDERINTAKE_FAILED_ORDER_HOLD).
	FailedOrderHold time.Duration
	// sdkMetrics is the Temporal SDK's metrics registry of this process
	// (filled by dialTemporal, served at /metrics).
	sdkMetrics *prometheus.Registry
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envBool(name string, def bool) (bool, error) {
	switch strings.ToLower(env(name, "")) {
	case "":
		return def, nil
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false", name)
}

// loadConfig reads the environment; dev picks the dev defaults.
func loadConfig(dev bool) (*config, error) {
	c := &config{
		HTTPAddr:       env("ORDERINTAKE_HTTP_ADDR", "127.0.0.1:8080"),
		AdminToken:     env("ORDERINTAKE_ADMIN_TOKEN", ""),
		DataDir:        env("ORDERINTAKE_DATA_DIR", ".orderintake"),
		DatabaseURL:    env("DATABASE_URL", ""),
		TemporalAddr:   env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		Namespace:      env("TEMPORAL_NAMESPACE", "default"),
		TemporalUIAddr: env("ORDERINTAKE_TEMPORAL_UI_ADDR", "127.0.0.1:8233"),
		SecretKey:      env("ORDERINTAKE_SECRET_KEY", ""),
		PublicURL:      env("ORDERINTAKE_PUBLIC_URL", api.DefaultPublicURL),
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ORDERINTAKE_PUBLIC_URL must be an http:// or https:// URL, like https://hq.example.com (got %q)", c.PublicURL)
	}
	c.TrustedProxies = strings.FieldsFunc(env("ORDERINTAKE_TRUSTED_PROXIES", ""), func(r rune) bool { return r == ',' || r == ' ' })
	if err := api.ValidTrustedProxies(c.TrustedProxies); err != nil {
		return nil, fmt.Errorf("ORDERINTAKE_TRUSTED_PROXIES must list IP addresses or CIDR prefixes: %w", err)
	}
	var err error
	if c.AllowPrivate, err = envBool("ORDERINTAKE_ALLOW_PRIVATE_DESTINATIONS", dev); err != nil {
		return nil, err
	}
	if c.Demo, err = envBool("ORDERINTAKE_DEMO", dev); err != nil {
		return nil, err
	}
	if !dev { // dev dials its own embedded server, which speaks plain gRPC on loopback
		if c.TemporalTLS, err = temporaltls.FromEnv(os.Getenv); err != nil {
			return nil, err
		}
	}
	if err := c.loadLimits(); err != nil {
		return nil, err
	}
	if c.FailedOrderHold, err = time.ParseDuration(env("ORDERINTAKE_FAILED_ORDER_HOLD", "168h")); err != nil || c.FailedOrderHold <= 0 {
		return nil, fmt.Errorf("ORDERINTAKE_FAILED_ORDER_HOLD must be a positive duration like 168h or 30m")
	}
	for _, s := range strings.FieldsFunc(env("ORDERINTAKE_ALLOWED_DESTINATIONS", ""), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("ORDERINTAKE_ALLOWED_DESTINATIONS: %q is not an IP or CIDR prefix", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.AllowList = append(c.AllowList, p)
	}
	return c, nil
}

// requireProd checks what the api and worker commands cannot default.
func (c *config) requireProd(needAdmin bool) error {
	var missing []string
	if c.DatabaseURL == "" {
		missing = append(missing, "DATABASE_URL")
	}
	if c.SecretKey == "" {
		missing = append(missing, "ORDERINTAKE_SECRET_KEY")
	}
	if needAdmin && c.AdminToken == "" {
		missing = append(missing, "ORDERINTAKE_ADMIN_TOKEN")
	}
	if len(missing) > 0 {
		return fmt.Errorf("set %s (see README.md, Configuration)", strings.Join(missing, ", "))
	}
	if needAdmin && len(c.AdminToken) < minAdminToken {
		return fmt.Errorf("ORDERINTAKE_ADMIN_TOKEN is %d characters; outside dev it must be at least %d (make one with: openssl rand -base64 33)",
			len(c.AdminToken), minAdminToken)
	}
	return nil
}

// minAdminToken is the shortest admin token `api` accepts: with the failure
// throttle (10 a minute per address) a 32-character random token cannot be
// guessed; `dev` generates its own.
const minAdminToken = 32

// dialTemporal connects to the frontend, with our logger (the SDK's default
// prints every activity at DEBUG). withMetrics records the SDK's metrics in
// c.sdkMetrics; without, the SDK's no-op handler spares the CPU of metrics
// nobody reads (a worker without ORDERINTAKE_METRICS_ADDR).
func dialTemporal(ctx context.Context, c *config, log *slog.Logger, withMetrics bool) (client.Client, error) {
	tl := slog.New(levelFloor{log.Handler(), slog.LevelWarn})
	var handler client.MetricsHandler
	if withMetrics {
		var reg *prometheus.Registry
		handler, reg, _ = metrics.Temporal() // the scope lives as long as the process
		c.sdkMetrics = reg
	}
	cl, err := client.DialContext(ctx, client.Options{HostPort: c.TemporalAddr, Namespace: c.Namespace, Logger: sdklog.NewStructuredLogger(tl),
		MetricsHandler: handler, ConnectionOptions: app.TemporalConnection(c.TemporalAddr, c.TemporalTLS)})
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", c.TemporalAddr, err)
	}
	return cl, nil
}

// levelFloor drops records below min.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func openApp(ctx context.Context, c *config, log *slog.Logger) (*app.App, error) {
	return app.Open(ctx, app.Config{DatabaseURL: c.DatabaseURL, SecretKey: c.SecretKey, Logger: log,
		Guard: &delivery.Guard{AllowPrivate: c.AllowPrivate, Allow: c.AllowList}, FailedOrderHold: c.FailedOrderHold,
		PublicURL: c.PublicURL})
}

func apiServer(a *app.App, c *config, tc client.Client, uiURL string) *app.Server {
	return a.API(tc, app.APIOptions{AdminToken: c.AdminToken, Namespace: c.Namespace, TemporalUIURL: uiURL,
		RateLimit: c.RateLimit, RateBurst: c.RateBurst, Metrics: c.sdkMetrics, PublicURL: c.PublicURL,
		TrustedProxies: c.TrustedProxies})
}

// serveHTTP serves h on addr until ctx ends, then drains in-flight requests.
// Slow clients are cut by the read timeouts.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return serveListener(ctx, ln, h, log)
}

func serveListener(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		// Above api.MaxHeaderBytes the API answers a problem document; this
		// is the hard cap, answered by net/http's plain 431.
		MaxHeaderBytes: 1 << 20}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
