// Package pgtest gives every test its own database on a real PostgreSQL:
// TEST_DATABASE_URL's server when set, else one private cluster per test
// binary, started on first use from the machine's initdb/pg_ctl. A database
// is either empty (URL) or a clone of a template prepared once per server
// and key (FromTemplate): cloning a migrated schema takes milliseconds where
// running every migration again takes most of a second.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"orderintake/internal/pgcluster"
)

// EnvURL names the variable with the URL of an existing server to use
// instead of a private cluster; its database part is only used to connect
// for CREATE/DROP DATABASE.
const EnvURL = "TEST_DATABASE_URL"

const (
	dirPrefix = "orderintake-pgtest-"
	ownerFile = "owner.pid" // next to the data dir: the test binary's pid
)

var (
	mu       sync.Mutex
	adminURL string // where CREATE/DROP DATABASE run; "" until first use
	cluster  *pgcluster.Cluster
	baseDir  string
	startErr error
)

// URL returns the URL of a fresh, empty database for this test, dropped
// when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	admin, err := server()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pgcluster.CreateDatabase(ctx, admin, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dropAtEnd(t, admin, name)
}

// FromTemplate returns the URL of a database for this test holding what
// setup prepared: a clone (CREATE DATABASE … TEMPLATE) of a template setup
// made once, or a database an earlier test of this binary used, emptied
// (TRUNCATE of every table but keep; sequences restarted), so setup makes
// schema, not rows. Creating and dropping a database costs a few hundred
// milliseconds here; emptying one a few.
// key names the template's content: pass a hash of whatever setup applies
// (the migrations), so a changed schema gets a new template instead of a
// stale one. Templates stay on the server between runs (a shared
// TEST_DATABASE_URL server keeps its own; a private cluster goes with its
// test binary); reused databases are dropped when the binary ends.
func FromTemplate(t testing.TB, key string, setup func(ctx context.Context, url string) error, keep ...string) string {
	t.Helper()
	admin, err := server()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := takeFree(key)
	if name == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tpl, err := template(ctx, admin, key, setup)
		if err != nil {
			t.Fatalf("pgtest: template %s: %v", key, err)
		}
		name = "t_" + randomHex(8)
		if err := cloneDatabase(ctx, admin, tpl, name); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		poolMu.Lock()
		pooled = append(pooled, name)
		poolMu.Unlock()
	}
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := empty(ctx, admin, name, keep); err != nil {
			// Not reusable: drop it (FORCE ends what still holds it).
			t.Logf("pgtest: %v; dropping %s", err, name)
			if err := dropDatabase(ctx, admin, name); err != nil {
				t.Errorf("pgtest: %v", err)
			}
			forget(name)
			return
		}
		giveBack(key, name)
	})
	return u
}

var (
	poolMu sync.Mutex
	free   = map[string][]string{} // key -> emptied databases ready for the next test
	pooled []string                // every database FromTemplate made, dropped by Main
)

func takeFree(key string) string {
	poolMu.Lock()
	defer poolMu.Unlock()
	n := len(free[key])
	if n == 0 {
		return ""
	}
	name := free[key][n-1]
	free[key] = free[key][:n-1]
	return name
}

func giveBack(key, name string) {
	poolMu.Lock()
	defer poolMu.Unlock()
	free[key] = append(free[key], name)
}

func forget(name string) {
	poolMu.Lock()
	defer poolMu.Unlock()
	for i, n := range pooled {
		if n == name {
			pooled = append(pooled[:i], pooled[i+1:]...)
			return
		}
	}
}

// empty ends the sessions a test left on name and truncates every table of
// its public schema except keep, restarting their sequences: the database
// is then as its template was.
func empty(ctx context.Context, admin, name string, keep []string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to empty %s: %w", name, err)
	}
	_, err = conn.Exec(ctx, `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, name)
	_ = conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("end sessions on %s: %w", name, err)
	}
	u, err := withDatabase(admin, name)
	if err != nil {
		return err
	}
	db, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", name, err)
	}
	defer func() { _ = db.Close(context.WithoutCancel(ctx)) }()
	rows, _ := db.Query(ctx, `select quote_ident(tablename) from pg_tables where schemaname = 'public' and not (tablename = any($1))`, keep)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", name, err)
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := db.Exec(ctx, "set lock_timeout = '5s'; truncate "+strings.Join(tables, ", ")+" restart identity cascade"); err != nil {
		return fmt.Errorf("empty %s: %w", name, err)
	}
	return nil
}

var (
	tplMu    sync.Mutex
	tplReady = map[string]string{} // key -> template database name, once prepared
)

// template returns the name of the template database for key, preparing it
// when the server lacks it. An advisory lock serialises test binaries that
// share one server; the template appears under its final name only once
// setup succeeded, so a failed or killed setup leaves no half-migrated one.
func template(ctx context.Context, admin, key string, setup func(ctx context.Context, url string) error) (string, error) {
	tplMu.Lock()
	defer tplMu.Unlock()
	if name, ok := tplReady[key]; ok {
		return name, nil
	}
	name := "tpl_" + key
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	h := fnv.New64a()
	h.Write([]byte(name))
	lock := int64(h.Sum64())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up: %w", err)
	}
	if !exists {
		work := "tplwork_" + randomHex(8)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{work}.Sanitize()); err != nil {
			return "", fmt.Errorf("create: %w", err)
		}
		u, err := withDatabase(admin, work)
		if err == nil {
			err = setup(ctx, u)
		}
		if err == nil {
			err = whileBusy(func() error {
				_, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{work}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize())
				return err
			})
		}
		if err != nil {
			_ = dropDatabase(context.WithoutCancel(ctx), admin, work)
			return "", err
		}
	}
	tplReady[key] = name
	return name, nil
}

// whileBusy retries fn while PostgreSQL answers "database is being accessed
// by other users" (55006): renaming or copying a database needs it free of
// sessions, and setup's closed sessions take an instant to end.
func whileBusy(fn func() error) error {
	for wait := 10 * time.Millisecond; ; wait *= 2 {
		err := fn()
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || wait > 2*time.Second {
			return err
		}
		time.Sleep(wait)
	}
}

// cloneDatabase creates name as a copy of tpl.
func cloneDatabase(ctx context.Context, admin, tpl, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to clone %q: %w", tpl, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	// FILE_COPY copies the files and checkpoints; the default (WAL_LOG,
	// PostgreSQL 15+) writes every block of the template to the WAL, about
	// three times slower here for a small schema on a cluster without fsync.
	// Servers before 15 know neither and copy files anyway.
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{tpl}.Sanitize()
	err = whileBusy(func() error { _, err := conn.Exec(ctx, stmt+" STRATEGY FILE_COPY"); return err })
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42601" || pgErr.Code == "42704") { // syntax error / unknown option: before 15
		err = whileBusy(func() error { _, err := conn.Exec(ctx, stmt); return err })
	}
	if err != nil {
		return fmt.Errorf("clone %q into %q: %w", tpl, name, err)
	}
	return nil
}

func dropAtEnd(t testing.TB, admin, name string) string {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// Main runs the tests, then stops the private cluster if one was started.
// Use as: func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func server() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if adminURL != "" || startErr != nil {
		return adminURL, startErr
	}
	if u := os.Getenv(EnvURL); u != "" {
		adminURL = u
		return adminURL, nil
	}
	sweepLeftovers()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		startErr = fmt.Errorf("create cluster dir: %w", err)
		return "", startErr
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		startErr = fmt.Errorf("write owner file: %w", err)
		return "", startErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "data"), Fast: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		startErr = fmt.Errorf("start private cluster (or set %s): %w", EnvURL, err)
		return "", startErr
	}
	cluster, baseDir, adminURL = c, dir, c.URL("postgres")
	return adminURL, nil
}

func shutdown() error {
	mu.Lock()
	defer mu.Unlock()
	if cluster == nil {
		// A shared server: drop the databases this binary kept for reuse.
		poolMu.Lock()
		names := pooled
		pooled, free = nil, map[string][]string{}
		poolMu.Unlock()
		var errs []error
		for _, name := range names {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			errs = append(errs, dropDatabase(ctx, adminURL, name))
			cancel()
		}
		return errors.Join(errs...)
	}
	err := cluster.Stop()
	if err == nil {
		err = os.RemoveAll(baseDir)
	}
	cluster, adminURL = nil, ""
	return err
}

// sweepLeftovers stops and removes clusters of test binaries that died
// without running Main's clean-up (a timeout panic, a kill): pg_ctl
// daemonises postgres, so they would otherwise run forever.
func sweepLeftovers() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being set up right now, or not ours
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || processAlive(pid) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// Start on the old dir stops a still-running server it finds there.
		if c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "data"), Fast: true}); err == nil {
			_ = c.Stop()
		}
		cancel()
		_ = os.RemoveAll(dir)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to drop database %q: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	// FORCE ends sessions a test left open (a pool not closed yet).
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	return nil
}

func withDatabase(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
