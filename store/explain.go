package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Explained is one statement a store call sent and the plan PostgreSQL ran
// it with.
type Explained struct {
	SQL  string
	Plan []string
}

// Explain runs fn against a one-connection store that records each
// statement fn sends, then runs EXPLAIN ANALYZE on each with the same
// arguments: the plans of exactly the SQL the API runs, not of a copy.
func (s *Store) Explain(ctx context.Context, fn func(ctx context.Context, st *Store) error) ([]Explained, error) {
	cfg := s.pool.Config()
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("explain: connect: %w", err)
	}
	defer pool.Close()
	if err := fn(ctx, &Store{pool: pool}); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	var out []Explained
	for _, q := range rec.list() {
		rows, _ := s.pool.Query(ctx, "explain (analyze, buffers, costs off, summary off) "+q.sql, q.args...)
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
