// Package store is the only package that speaks to PostgreSQL (pgx). It maps
// rows to the domain types of package orderintake and driver errors to
// *orderintake.Error codes (no rows -> ENOTFOUND, unique violation -> ECONFLICT).
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	oi "orderintake"
	"orderintake/schema"
)

// Store wraps a connection pool.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects a pool to databaseURL and checks it answers.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// FromPool wraps a pool the caller configured (store/storebench traces its
// statements); Close closes it.
func FromPool(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate applies the embedded migrations. tern holds an advisory lock, so
// replicas starting together apply them once.
func Migrate(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sub, err := fs.Sub(schema.Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate: load: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// mapErr turns driver errors into domain errors; what names the row kind.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return oi.Errorf(oi.ENOTFOUND, "%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &oi.Error{Code: oi.ECONFLICT, Message: what + " already exists"}
		case "23503":
			return &oi.Error{Code: oi.EINVALID, Message: what + " refers to something that does not exist"}
		case "23514":
			return &oi.Error{Code: oi.EINVALID, Message: what + " has a value out of range"}
		case "22021", "22P05": // text cannot hold NUL or invalid UTF-8: bad input, not a server fault
			return &oi.Error{Code: oi.EINVALID, Message: "text with NUL characters or invalid UTF-8 is not accepted"}
		}
	}
	if unavailable(err) {
		// The cause stays in the chain for the log; clients see 503.
		return fmt.Errorf("%s: %w: %w", what, errDBUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// tx runs fn in a transaction.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
