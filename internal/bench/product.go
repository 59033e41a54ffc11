package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"orderintake/delivery"
	"orderintake/internal/app"
	"orderintake/store"
)

// Product is the gateway under test: a worker and an API.
type Product interface {
	// APIURL is the API's base URL.
	APIURL() string
	// PIDs are the worker's and the API's process ids; the same pid twice
	// when both run in one process.
	PIDs() (worker, api int)
	// Separate reports whether worker and API are processes of their own.
	Separate() bool
	// Alive reports a worker or API that died during the run.
	Alive() error
	Stop() error
}

// ProductEnv is what the product needs to run against the bench's stack.
type ProductEnv struct {
	DatabaseURL, TemporalAddr, Namespace, SecretKey, AdminToken string
	Logger                                                      *slog.Logger
}

// StartProduct starts a worker and an API and returns once the API is ready.
type StartProduct func(ctx context.Context, env ProductEnv) (Product, error)

// Children runs the worker and the API as child processes of this binary
// (`exe worker`, `exe api`), the way production runs them, so each one's
// memory is measured on its own. Their logs go to logDir.
func Children(exe, logDir string) StartProduct {
	return ChildrenWithWorker(exe, logDir, "worker")
}

// ChildrenWithWorker is Children with the worker started as `exe
// workerArgs…` (the bench's CPU-profiled worker).
func ChildrenWithWorker(exe, logDir string, workerArgs ...string) StartProduct {
	return func(ctx context.Context, env ProductEnv) (Product, error) {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		vars := append(os.Environ(),
			"DATABASE_URL="+env.DatabaseURL, "TEMPORAL_ADDRESS="+env.TemporalAddr, "TEMPORAL_NAMESPACE="+env.Namespace,
			"ORDERINTAKE_SECRET_KEY="+env.SecretKey, "ORDERINTAKE_ADMIN_TOKEN="+env.AdminToken, "ORDERINTAKE_HTTP_ADDR="+addr,
			"ORDERINTAKE_ALLOW_PRIVATE_DESTINATIONS=true", "ORDERINTAKE_DEMO=false",
			// One customer key sends every order: the per-key limit would
			// measure itself, not the pipeline.
			"ORDERINTAKE_RATE_LIMIT=0")
		p := &children{url: "http://" + addr}
		for _, role := range []string{"worker", "api"} {
			logf, err := os.Create(filepath.Join(logDir, role+".log"))
			if err != nil {
				p.Stop()
				return nil, fmt.Errorf("bench: %s log: %w", role, err)
			}
			args := []string{role}
			if role == "worker" {
				args = workerArgs
			}
			cmd := exec.Command(exe, args...)
			cmd.Env, cmd.Stdout, cmd.Stderr = vars, logf, logf
			// Own process group: a Ctrl-C on the bench must not stop them
			// before the bench has collected its numbers.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				logf.Close()
				p.Stop()
				return nil, fmt.Errorf("bench: start %s: %w", role, err)
			}
			logf.Close()
			ch := &child{role: role, cmd: cmd, exited: make(chan struct{})}
			go func() { ch.err = cmd.Wait(); close(ch.exited) }()
			p.kids = append(p.kids, ch)
		}
		if err := waitReady(ctx, p.url, p.alive); err != nil {
			p.Stop()
			return nil, fmt.Errorf("%w (logs in %s)", err, logDir)
		}
		return p, nil
	}
}

type children struct {
	url  string
	kids []*child // worker, api
}

type child struct {
	role   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited closes
}

func (p *children) APIURL() string { return p.url }
func (p *children) PIDs() (int, int) {
	return p.kids[0].cmd.Process.Pid, p.kids[1].cmd.Process.Pid
}
func (p *children) Separate() bool { return true }

func (p *children) Alive() error { return p.alive() }

// alive reports a child that exited (a crash during the run).
func (p *children) alive() error {
	for _, k := range p.kids {
		select {
		case <-k.exited:
			return fmt.Errorf("bench: %s exited: %v", k.role, k.err)
		default:
		}
	}
	return nil
}

// Stop asks both to stop (SIGTERM: graceful) and kills what is left after 30 s.
func (p *children) Stop() error {
	var errs []error
	for _, k := range p.kids {
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, k := range p.kids {
		select {
		case <-k.exited:
			var exit *exec.ExitError
			if k.err != nil && !errors.As(k.err, &exit) {
				errs = append(errs, fmt.Errorf("bench: %s: %w", k.role, k.err))
			}
		case <-time.After(30 * time.Second):
			_ = k.cmd.Process.Kill()
			<-k.exited
			errs = append(errs, fmt.Errorf("bench: %s did not stop within 30 s: killed", k.role))
		}
	}
	return errors.Join(errs...)
}

// InProcess runs the worker and the API in this process (tests, and where
// no second binary can be started); their memory is then this process's.
func InProcess(ctx context.Context, env ProductEnv) (Product, error) {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := app.Open(ctx, app.Config{DatabaseURL: env.DatabaseURL, SecretKey: env.SecretKey,
		Guard: &delivery.Guard{AllowPrivate: true}, Logger: log})
	if err != nil {
		return nil, err
	}
	st := a.Store
	tc, err := client.DialContext(ctx, client.Options{HostPort: env.TemporalAddr, Namespace: env.Namespace,
		Logger: sdklog.NewStructuredLogger(log), ConnectionOptions: app.TemporalConnection(env.TemporalAddr, nil)})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("bench: connect to temporal at %s: %w", env.TemporalAddr, err)
	}
	w, err := a.Worker(tc)
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		tc.Close()
		st.Close()
		return nil, fmt.Errorf("bench: start worker: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.Stop()
		tc.Close()
		st.Close()
		return nil, fmt.Errorf("bench: api listener: %w", err)
	}
	srv := &http.Server{Handler: a.API(tc, app.APIOptions{AdminToken: env.AdminToken, Namespace: env.Namespace}).Handler(),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	p := &inProcess{url: "http://" + ln.Addr().String(), srv: srv, w: w, tc: tc, st: st}
	if err := waitReady(ctx, p.url, func() error { return nil }); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

type inProcess struct {
	url string
	srv *http.Server
	w   sdkworker.Worker
	tc  client.Client
	st  *store.Store
}

func (p *inProcess) APIURL() string   { return p.url }
func (p *inProcess) PIDs() (int, int) { return os.Getpid(), os.Getpid() }
func (p *inProcess) Separate() bool   { return false }
func (p *inProcess) Alive() error     { return nil }
func (p *inProcess) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	p.w.Stop()
	p.tc.Close()
	p.st.Close()
	return err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls the API's /readyz until it answers 200 (Postgres and
// Temporal reachable); alive reports a process that died meanwhile.
func waitReady(ctx context.Context, url string, alive func() error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if err := alive(); err != nil {
			return err
		}
		if resp, err := hc.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: API at %s not ready within a minute", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
