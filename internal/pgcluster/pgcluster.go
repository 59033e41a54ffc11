// Package pgcluster runs a private PostgreSQL cluster from the machine's own
// server binaries (initdb, pg_ctl), for `orderintake dev` and for tests.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Options configure Start.
type Options struct {
	// Dir is the data directory. It is created when missing and reused when it
	// already holds a cluster (PG_VERSION present).
	Dir string
	// Port to listen on at 127.0.0.1; 0 picks a free one on every start.
	Port int
	// Fast turns durability off (fsync=off) for throwaway test clusters.
	Fast   bool
	Logger *slog.Logger
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dir    string
	port   int
	bins   binaries
	run    runner
	logger *slog.Logger
}

const superuser = "postgres"

// ErrNoBinaries is returned when initdb/pg_ctl cannot be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: " +
	"install Debian's package with `apt-get install -y postgresql`, or set DATABASE_URL")

// Start initialises the data directory if needed and starts the server; it
// returns once the server accepts connections.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is required")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: resolve data dir: %w", err)
	}
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	run, err := newRunner()
	if err != nil {
		return nil, err
	}
	if err := run.prepareDir(dir, logger); err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bins: bins, run: run, logger: logger}

	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		t0 := time.Now()
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
		logger.Info("postgres cluster initialised", "dir", dir, "took", time.Since(t0).Round(time.Millisecond))
	} else if err != nil {
		return nil, fmt.Errorf("pgcluster: inspect data dir: %w", err)
	}

	if err := c.clearStalePID(ctx); err != nil {
		return nil, err
	}

	// A picked free port can be taken by someone else before postgres binds it:
	// try a few times before giving up.
	attempts := 1
	if o.Port == 0 {
		attempts = 3
	}
	for i := range attempts {
		c.port = o.Port
		if c.port == 0 {
			if c.port, err = freePort(); err != nil {
				return nil, err
			}
		}
		if err = c.start(ctx, o.Fast); err == nil {
			logger.Info("postgres cluster started", "dir", dir, "port", c.port)
			return c, nil
		}
		if ctx.Err() != nil {
			break
		}
		logger.Warn("postgres start failed", "attempt", i+1, "error", err)
	}
	return nil, err
}

// Dir is the absolute data directory.
func (c *Cluster) Dir() string { return c.dir }

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// URL is the connection URL for database as the trusted superuser.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates the database unless it already exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	return CreateDatabase(ctx, c.URL("postgres"), name)
}

// CreateDatabase creates database name on the server adminURL points to,
// unless it already exists.
func CreateDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pgcluster: connect to create database %q: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a concurrent creator won
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: create database %q: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast mode: open sessions are ended).
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := c.run.command(ctx, c.dir, c.bins.pgCtl, "stop", "-D", c.dir, "-m", "fast", "-w").CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: pg_ctl stop: %w: %s", err, bytes.TrimSpace(out))
	}
	c.logger.Info("postgres cluster stopped", "dir", c.dir)
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	var errs []error
	// C.UTF-8 sorts like C but keeps UTF-8 character classes; not every system has it.
	for _, locale := range []string{"C.UTF-8", "C"} {
		out, err := c.run.command(ctx, c.dir, c.bins.initdb,
			"-D", c.dir, "-U", superuser, "--auth=trust", "-E", "UTF8", "--locale="+locale, "--no-sync",
		).CombinedOutput()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("locale %s: %w: %s", locale, err, lastLines(out, 5)))
		// initdb leaves no cluster behind on failure, but may leave files in a
		// directory it created; empty it so the next attempt starts clean.
		if err := emptyDir(c.dir); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return fmt.Errorf("pgcluster: initdb in %s: %w", c.dir, errors.Join(errs...))
}

// clearStalePID handles a postmaster.pid left by an earlier run: a server
// still running on this directory (its owner was killed; pg_ctl daemonises
// postgres) is stopped so that we start it with our own settings, and a pid
// file whose process is gone is removed.
func (c *Cluster) clearStalePID(ctx context.Context) error {
	pidFile := filepath.Join(c.dir, "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		return nil
	}
	out, err := c.run.command(ctx, c.dir, c.bins.pgCtl, "status", "-D", c.dir).CombinedOutput()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		c.logger.Warn("postgres from an earlier run still running on the data dir: stopping it", "dir", c.dir)
		return c.Stop()
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 3: // not running
		c.logger.Warn("removing stale postmaster.pid", "dir", c.dir)
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pgcluster: remove stale pid file: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("pgcluster: pg_ctl status: %w: %s", err, bytes.TrimSpace(out))
	}
}

func (c *Cluster) start(ctx context.Context, fast bool) error {
	opts := []string{"-p", strconv.Itoa(c.port), "-c", "listen_addresses=127.0.0.1"}
	// The socket goes in the data dir so nothing else on the machine (a
	// system postgres in /var/run/postgresql) is touched; a Unix socket path
	// is limited to 107 bytes, so a deep dir gets no socket (we use TCP).
	sockDir := c.dir
	if len(filepath.Join(sockDir, ".s.PGSQL."+strconv.Itoa(c.port)+".lock")) > 100 {
		sockDir = ""
	}
	opts = append(opts, "-c", "unix_socket_directories="+sockDir)
	if fast {
		opts = append(opts, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	quoted := make([]string, len(opts))
	for i, o := range opts {
		quoted[i] = shellQuote(o) // pg_ctl hands -o to /bin/sh
	}
	logFile := filepath.Join(c.dir, "postgres.log")
	cmd := c.run.command(ctx, c.dir, c.bins.pgCtl, "start", "-w", "-t", "60", "-D", c.dir, "-l", logFile, "-o", strings.Join(quoted, " "))
	// Own process group: a Ctrl-C on the terminal must not reach postgres
	// directly, so the app can drain its connections before Stop.
	cmd.SysProcAttr.Setpgid = true
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: pg_ctl start on port %d: %w: %s\nlog %s:\n%s",
			c.port, err, bytes.TrimSpace(out), logFile, tailFile(logFile, 10))
	}
	return nil
}

type binaries struct{ initdb, pgCtl string }

func findBinaries() (binaries, error) {
	initdb, err1 := exec.LookPath("initdb")
	pgCtl, err2 := exec.LookPath("pg_ctl")
	if err1 == nil && err2 == nil {
		return binaries{initdb, pgCtl}, nil
	}
	// Debian keeps them off PATH in /usr/lib/postgresql/<major>/bin.
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		b := binaries{filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")}
		if isExecutable(b.initdb) && isExecutable(b.pgCtl) {
			return b, nil
		}
	}
	return binaries{}, ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: read %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("pgcluster: clean %s: %w", dir, err)
		}
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer func() { _ = f.Close() }()
	const max = 8 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return lastLines(b, n)
}
