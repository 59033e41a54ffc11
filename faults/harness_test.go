//go:build faults

// Package faults drives the real product through faults, load and bad input
// at its edges: `orderintake temporal`, `orderintake api` and `orderintake
// worker` run as child processes (built once in TestMain) against a private
// PostgreSQL cluster the tests stop and start, with a printer and a webhook
// receiver on loopback. Only the child binary links the Temporal server.
//
// Run with: go test -tags faults -count=1 ./faults/ (make faults).
// FAULTS_LOAD_ORDERS sets the size of the load test (default 300);
// FAULTS_PRINTER_DOWN how long the printer stays down (default 20s);
// FAULTS_BIN uses an already built binary instead of building one.
package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
	"orderintake/internal/apiclient"
	"orderintake/internal/loopback"
	"orderintake/internal/pgcluster"
	"orderintake/internal/seal"
	"orderintake/internal/testenv"
	"orderintake/store"
)

var (
	binary string // the orderintake binary under test
	tmpDir string

	pgMu   sync.Mutex
	pg     *pgcluster.Cluster
	pgDir  string
	pgPort int
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if tmpDir, err = os.MkdirTemp("", "orderintake-faults-"); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	if binary = os.Getenv("FAULTS_BIN"); binary == "" {
		binary = filepath.Join(tmpDir, "orderintake")
		t0 := time.Now()
		build := exec.Command("go", "build", "-o", binary, "./cmd/orderintake")
		build.Dir = ".." // the module root
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: build orderintake:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "faults: built orderintake in %.1fs\n", time.Since(t0).Seconds())
	}
	pgDir = filepath.Join(tmpDir, "pg")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if pg, err = pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Fast: true}); err != nil {
		fmt.Fprintln(os.Stderr, "faults: start postgres:", err)
		return 1
	}
	pgPort = pg.Port()
	code := m.Run()
	pgMu.Lock()
	if pg != nil {
		if err := pg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: stop postgres:", err)
		}
	}
	pgMu.Unlock()
	return code
}

// stopPostgres and startPostgres take the database away and bring it back
// on the same port, as an outage would.
func stopPostgres(t *testing.T) {
	t.Helper()
	pgMu.Lock()
	defer pgMu.Unlock()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	pg = nil
}

func startPostgres(t *testing.T) {
	t.Helper()
	pgMu.Lock()
	defer pgMu.Unlock()
	if pg != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Port: pgPort, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	pg = c
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ---- child processes

// proc is a running child process whose output goes to a file.
type proc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.running() {
			p.signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("---- last lines of %s:\n%s", name, tail(p.logPath, 30))
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(d time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return -1, false
	}
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// waitLog waits until the process logged s.
func (p *proc) waitLog(s string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.log(), s) {
		if !p.running() {
			p.t.Fatalf("%s exited before logging %q:\n%s", p.name, s, tail(p.logPath, 30))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not log %q within %v:\n%s", p.name, s, d, tail(p.logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- the product

// stack is one product: its own database, Temporal server, API and worker.
type stack struct {
	t            *testing.T
	dbURL        string
	st           *store.Store
	db           *pgx.Conn
	temporalDir  string
	temporalAddr string
	apiAddr      string
	apiURL       string
	env          []string
	admin        string
	secretKey    string
	temporal     *proc
	api          *proc
	workers      []*proc
	apiEnv       []string // the API's own environment (stackOptions.apiEnv)
	replicas     []*proc  // API processes beyond api (startAPIReplica)
	secrets      []string // must never appear in a log
}

type stackOptions struct {
	apiEnv []string // extra environment of the API
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	startPostgres(t)
	ctx := context.Background()
	name := "f_" + strings.ToLower(seal.NewKey()[:12])
	if err := pg.CreateDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, dbURL: pg.URL(name), temporalDir: t.TempDir(), temporalAddr: freeAddr(t), apiAddr: freeAddr(t),
		admin: "adm_" + seal.NewKey()[:32], secretKey: seal.NewKey(), apiEnv: o.apiEnv}
	s.apiURL = "http://" + s.apiAddr
	s.secrets = append(s.secrets, s.admin, s.secretKey)
	if err := store.Migrate(ctx, s.dbURL); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.st, err = store.Open(ctx, s.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.st.Close)
	s.env = []string{"DATABASE_URL=" + s.dbURL, "TEMPORAL_ADDRESS=" + s.temporalAddr, "ORDERINTAKE_ADMIN_TOKEN=" + s.admin,
		"ORDERINTAKE_SECRET_KEY=" + s.secretKey, "ORDERINTAKE_ALLOW_PRIVATE_DESTINATIONS=true", "ORDERINTAKE_DATA_DIR=" + s.temporalDir,
		"ORDERINTAKE_TEMPORAL_UI_ADDR=off", "ORDERINTAKE_LOG_LEVEL=INFO"}
	s.startTemporal()
	s.api = startProc(t, "api", append(append(append([]string{}, s.env...), "ORDERINTAKE_HTTP_ADDR="+s.apiAddr), o.apiEnv...), "api")
	s.waitReady(60 * time.Second)
	s.startWorker()
	t.Cleanup(s.checkLogs)
	return s
}

func (s *stack) startTemporal() {
	s.temporal = startProc(s.t, "temporal", s.env, "temporal")
	s.temporal.waitLog("temporal server ready", 2*time.Minute)
}

func (s *stack) startWorker() *proc {
	w := startProc(s.t, fmt.Sprintf("worker%d", len(s.workers)+1), s.env, "worker")
	w.waitLog("worker started", time.Minute)
	s.workers = append(s.workers, w)
	return w
}

// startAPIReplica starts one more `orderintake api` on the stack's
// database and Temporal, with the first API's environment, on a free
// address, and returns once it is ready.
func (s *stack) startAPIReplica() (*proc, string) {
	s.t.Helper()
	addr := freeAddr(s.t)
	env := append(append(append([]string{}, s.env...), "ORDERINTAKE_HTTP_ADDR="+addr), s.apiEnv...)
	p := startProc(s.t, fmt.Sprintf("api%d", len(s.replicas)+2), env, "api")
	s.replicas = append(s.replicas, p)
	url := "http://" + addr
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, url
			}
		}
		if !p.running() || time.Now().After(deadline) {
			s.t.Fatalf("%s not ready (last: %v):\n%s", p.name, err, tail(p.logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReady waits until /readyz answers 200 (Postgres and Temporal reached).
func (s *stack) waitReady(d time.Duration) time.Duration {
	s.t.Helper()
	t0 := time.Now()
	for {
		resp, err := http.Get(s.apiURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(t0)
			}
		}
		if !s.api.running() {
			s.t.Fatalf("api exited:\n%s", tail(s.api.logPath, 30))
		}
		if time.Since(t0) > d {
			s.t.Fatalf("api not ready after %v (last: %v)", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkLogs fails the test if a secret shows up in any child's output.
func (s *stack) checkLogs() {
	procs := append(append([]*proc{s.temporal, s.api}, s.workers...), s.replicas...)
	for _, p := range procs {
		if p == nil {
			continue
		}
		out := p.log()
		for _, secret := range s.secrets {
			if secret != "" && strings.Contains(out, secret) {
				s.t.Errorf("%s logged a secret (%s…)", p.name, secret[:6])
			}
		}
		if strings.Contains(out, "panic:") {
			s.t.Errorf("%s panicked:\n%s", p.name, tail(p.logPath, 40))
		}
	}
}

// shop is a configured customer with its keys.
type shop struct {
	fx                      *testenv.Fixture
	customerKey, printerKey string
}

// configure seeds a printer at printerURL and n customers routed to it,
// each with a webhook trigger per event pointing at receiverURL.
func (s *stack) configure(printerURL, receiverURL string, n int, events ...string) []shop {
	s.t.Helper()
	sealer, err := seal.New(s.secretKey)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx := context.Background()
	var out []shop
	var printer *oi.Printer
	var printerKey string
	for range n {
		fx := testenv.Seed(s.t, s.st, sealer, printerURL, receiverURL, events...)
		if printer == nil {
			printer = fx.Printer
			k, err := s.st.CreateKey(ctx, oi.OwnerPrinter, printer.ID)
			if err != nil {
				s.t.Fatal(err)
			}
			printerKey = k.Key
		} else {
			// One printer for all: the one Seed made is left unused.
			fx.Customer.PrinterID = printer.ID
			if _, err := s.st.UpdateCustomer(ctx, fx.Customer); err != nil {
				s.t.Fatal(err)
			}
		}
		ck, err := s.st.CreateKey(ctx, oi.OwnerCustomer, fx.Customer.ID)
		if err != nil {
			s.t.Fatal(err)
		}
		s.secrets = append(s.secrets, ck.Key, printerKey, fx.Secret)
		out = append(out, shop{fx: fx, customerKey: ck.Key, printerKey: printerKey})
	}
	return out
}

// client is the shared API client (internal/apiclient) on the api child.
func (s *stack) client() *apiclient.Client {
	return &apiclient.Client{BaseURL: s.apiURL, HTTP: httpClient}
}

// submit posts one order; it returns the status, the answer and how long it took.
func (s *stack) submit(key, ref string) (int, map[string]any, http.Header, time.Duration) {
	body := fmt.Sprintf(`{"orderReferenceId": %q, "items": [{"sku": "POSTER-A3", "quantity": 2}]}`, ref)
	t0 := time.Now()
	r, err := s.client().SubmitOrder(context.Background(), key, "application/json", []byte(body), nil)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}, nil, time.Since(t0)
	}
	return r.Status, r.JSON(), r.Header, time.Since(t0)
}

// do makes one request and decodes a JSON answer.
func (s *stack) do(method, path string, hdr map[string]string, body string) (int, map[string]any, http.Header) {
	r, err := s.client().Do(context.Background(), method, path, hdr, []byte(body))
	if err != nil {
		return 0, map[string]any{"error": err.Error()}, http.Header{}
	}
	return r.Status, r.JSON(), r.Header
}

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// count runs a count(*) query on the stack's database.
func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// plainSecrets searches every text, jsonb and bytea column of every table
// for each of secrets and says where it found them.
func (s *stack) plainSecrets(secrets []string) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `select table_name, column_name, data_type from information_schema.columns
		where table_schema = 'public' and data_type in ('text', 'jsonb', 'bytea', 'character varying', 'ARRAY')`)
	type col struct{ table, name, typ string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.table, &c.name, &c.typ)
	})
	if err != nil {
		s.t.Fatal(err)
	}
	var found []string
	for _, c := range cols {
		name := pgx.Identifier{c.name}.Sanitize()
		cond := "strpos(" + name + "::text, $1) > 0"
		if c.typ == "bytea" {
			cond = "position(convert_to($1, 'UTF8') in " + name + ") > 0"
		}
		for _, secret := range secrets {
			var n int
			q := "select count(*) from " + pgx.Identifier{c.table}.Sanitize() + " where " + cond
			if err := conn.QueryRow(ctx, q, secret).Scan(&n); err != nil {
				s.t.Fatalf("%s: %v", q, err)
			}
			if n > 0 {
				found = append(found, fmt.Sprintf("%s.%s (%s…)", c.table, c.name, secret[:6]))
			}
		}
	}
	return found
}

// eventually polls cond every 200 ms for up to d and returns how long it took.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	t0 := time.Now()
	for !cond() {
		if time.Since(t0) > d {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(t0)
}

// ---- loopback printer and receiver

// printer is a print service on loopback that honours Idempotency-Key
// (internal/loopback): it counts every request and every distinct key, can
// go down (connection refused) and come back on the same port, and reports
// each new order's events back. delay and report are set under mu.
type printer struct {
	*loopback.Server
	t      *testing.T
	mu     sync.Mutex
	delay  time.Duration // before answering
	report func(orderID string)
}

func newPrinter(t *testing.T) *printer {
	srv, err := loopback.Start()
	if err != nil {
		t.Fatal(err)
	}
	p := &printer{Server: srv, t: t}
	srv.Default = http.StatusCreated
	srv.Hold = func() {
		p.mu.Lock()
		d := p.delay
		p.mu.Unlock()
		time.Sleep(d)
	}
	srv.OnNewKey = func(key string) {
		p.mu.Lock()
		report := p.report
		p.mu.Unlock()
		if report != nil {
			report(key)
		}
	}
	t.Cleanup(srv.Close)
	return p
}

func (p *printer) URL() string { return p.Server.URL + "/orders" }

func (p *printer) up() {
	p.t.Helper()
	if err := p.Up(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *printer) down() { p.Down() }

// counts returns requests received and distinct orders (keys).
func (p *printer) counts() (requests, orders int) { return p.Counts() }

func (p *printer) keys() map[string]int { return p.Keys() }

// reporter posts events for orders as a printer would, retrying while the
// gateway answers 5xx or cannot be reached (bounded: 3 minutes an event).
type reporter struct {
	apiURL, key string
	events      []string
	sem         chan struct{}
	wg          sync.WaitGroup
	mu          sync.Mutex
	failed      []string
}

func newReporter(apiURL, key string, parallel int, events ...string) *reporter {
	return &reporter{apiURL: apiURL, key: key, events: events, sem: make(chan struct{}, parallel)}
}

func (r *reporter) report(orderID string) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for i, ev := range r.events {
			body := fmt.Sprintf(`{"eventId": "%s-%d", "status": %q, "trackingCode": "T-%d"}`, orderID, i, ev, i)
			if err := r.post(orderID, body); err != nil {
				r.mu.Lock()
				r.failed = append(r.failed, orderID+" "+ev+": "+err.Error())
				r.mu.Unlock()
				return
			}
		}
	}()
}

func (r *reporter) post(orderID, body string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r.sem <- struct{}{}
		c := &apiclient.Client{BaseURL: r.apiURL, HTTP: httpClient}
		resp, err := c.SendEvent(context.Background(), r.key, orderID, json.RawMessage(body))
		<-r.sem
		status := 0
		if err == nil {
			status = resp.Status
			if status < 300 {
				return nil
			}
			err = fmt.Errorf("answered %d", status)
			// 404: the order row is not written yet (the database was away); 5xx: try again.
			if status < 500 && status != 404 && status != 429 {
				return err
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (r *reporter) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.failed...)
}

// receiver counts webhooks by webhook-id (a repeat is a duplicate delivery).
type receiver struct {
	srv   *http.Server
	url   string
	mu    sync.Mutex
	ids   map[string]int
	total int
}

func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{ids: map[string]int{}, url: "http://" + ln.Addr().String() + "/hooks"}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.total++
		r.ids[req.Header.Get("webhook-id")]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *receiver) counts() (requests, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, len(r.ids)
}

// ---- raw HTTP, for slow and odd clients

// rawRequest writes head (and then body, in parts with pauses) on a fresh
// connection and returns the status line and the rest of the answer.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readAnswer(c net.Conn, d time.Duration) (*http.Response, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b, nil
}
