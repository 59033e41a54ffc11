package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartCreateStopRestart(t *testing.T) {
	if _, err := findBinaries(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A data dir below t.TempDir exercises the root case: its parent is 0700.
	dir := filepath.Join(t.TempDir(), "pg")

	t0 := time.Now()
	c, err := Start(ctx, Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first start (initdb + start): %v", time.Since(t0))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = c.Stop()
		}
	})

	if err := c.CreateDatabase(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDatabase(ctx, "orders"); err != nil {
		t.Fatalf("CreateDatabase must be idempotent: %v", err)
	}
	execSQL(ctx, t, c.URL("orders"), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true

	t0 = time.Now()
	c2, err := Start(ctx, Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restart on existing dir: %v", time.Since(t0))
	t.Cleanup(func() { _ = c2.Stop() })
	if got := queryString(ctx, t, c2.URL("orders"), "SELECT v FROM kept"); got != "still here" {
		t.Fatalf("after restart got %q", got)
	}
}

func TestStaleAndRunningLeftovers(t *testing.T) {
	if _, err := findBinaries(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pg")

	c, err := Start(ctx, Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	// A second Start while the first server still runs: what a dev process
	// killed with SIGKILL leaves behind.
	c2, err := Start(ctx, Options{Dir: dir, Fast: true})
	if err != nil {
		_ = c.Stop()
		t.Fatalf("start over a running leftover: %v", err)
	}
	if got := queryString(ctx, t, c2.URL("postgres"), "SELECT 'ok'"); got != "ok" {
		t.Fatalf("got %q", got)
	}
	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}

	// A pid file whose process is gone.
	stale := []byte("999999\n" + dir + "\n0\n0\n\n127.0.0.1\n0 0\nstopped\n")
	pidFile := filepath.Join(dir, "postmaster.pid")
	if err := os.WriteFile(pidFile, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, _ := newRunner(); r.cred != nil {
		if err := os.Chown(pidFile, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	c3, err := Start(ctx, Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatalf("start over a stale pid file: %v", err)
	}
	if err := c3.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestURL(t *testing.T) {
	c := &Cluster{port: 5433}
	if got, want := c.URL("t_1"), "postgres://postgres@127.0.0.1:5433/t_1?sslmode=disable"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
}

func execSQL(ctx context.Context, t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

func queryString(ctx context.Context, t *testing.T, url, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
