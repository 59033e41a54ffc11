// Package storebench is the benchmark's window onto PostgreSQL: raw bulk
// statements (loading a synthetic history with INSERT … SELECT) and the
// EXPLAIN ANALYZE of exactly the SQL a store call sends. It lives under
// store/ because only the store tree imports pgx; the benchmark's own SQL
// and data shapes live with the benchmark (internal/bench), and nothing in
// the product imports this package.
package storebench

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"orderintake/store"
)

// DB is a pool of its own on the benchmark's database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to databaseURL.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("storebench: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("storebench: connect: %w", err)
	}
	return &DB{pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.pool.Close() }

// Exec runs one statement and returns the rows it affected.
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := db.pool.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// Scan runs a query that returns one row and scans it into dest.
func (db *DB) Scan(ctx context.Context, sql string, args []any, dest ...any) error {
	return db.pool.QueryRow(ctx, sql, args...).Scan(dest...)
}

// BackendPID is the process id of the PostgreSQL backend serving this
// query; on a local server its parent is the postmaster, whose process tree
// the bench measures for CPU.
func (db *DB) BackendPID(ctx context.Context) (int, error) {
	var pid int
	err := db.pool.QueryRow(ctx, `select pg_backend_pid()`).Scan(&pid)
	if err != nil {
		return 0, fmt.Errorf("storebench: backend pid: %w", err)
	}
	return pid, nil
}

// Explained is one statement a store call sent and the plan PostgreSQL ran
// it with.
type Explained struct {
	SQL  string
	Plan []string
}

// Explain runs fn against a one-connection store that records each
// statement fn sends, then runs EXPLAIN ANALYZE on each with the same
// arguments: the plans of exactly the SQL the API runs, not of a copy.
func (db *DB) Explain(ctx context.Context, fn func(ctx context.Context, st *store.Store) error) ([]Explained, error) {
	cfg := db.pool.Config()
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("explain: connect: %w", err)
	}
	st := store.FromPool(pool)
	defer st.Close()
	if err := fn(ctx, st); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	var out []Explained
	for _, q := range rec.list() {
		rows, _ := db.pool.Query(ctx, "explain (analyze, buffers, costs off, summary off) "+q.sql, q.args...)
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("explain %q: %w", firstLine(q.sql), err)
		}
		out = append(out, Explained{SQL: q.sql, Plan: plan})
	}
	return out, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

type traced struct {
	sql  string
	args []any
}

// recorder is a pgx tracer that keeps the statements sent.
type recorder struct {
	mu sync.Mutex
	qs []traced
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.qs = append(r.qs, traced{sql: d.SQL, args: d.Args})
	r.mu.Unlock()
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) list() []traced {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]traced(nil), r.qs...)
}
