package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	oi "orderintake"
)

// Admin writes of lookup tables. PutLookup (config.go) upserts by name, which
// suits seeding; the API needs a create that refuses a taken name and a
// replace that keeps the table's id.

// LookupSummary is a lookup table without its rows, for lists.
type LookupSummary struct {
	oi.LookupTable
	RowCount int
}

// lookupConflict rewords a unique violation on (customer_id, name).
func lookupConflict(err error, name string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &oi.Error{Code: oi.ECONFLICT, Field: "name", Message: fmt.Sprintf("this customer already has a lookup named %q", name)}
	}
	return mapErr(err, "lookup")
}

// CreateLookup inserts a lookup table and its rows; a name the customer
// already uses is a conflict.
func (s *Store) CreateLookup(ctx context.Context, l *oi.LookupTable) (*oi.LookupTable, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `insert into lookups (id, customer_id, name, default_value) values ($1, $2, $3, $4)`,
			l.ID, l.CustomerID, l.Name, l.Default); err != nil {
			return err
		}
		return insertLookupRows(ctx, tx, l.ID, l.Rows)
	})
	if err != nil {
		return nil, lookupConflict(err, l.Name)
	}
	return s.GetLookup(ctx, l.ID)
}

// ReplaceLookup changes a table's name and default and, when rows is not
// nil, replaces all its rows.
func (s *Store) ReplaceLookup(ctx context.Context, l *oi.LookupTable, rows map[string]string) (*oi.LookupTable, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `update lookups set name = $2, default_value = $3, updated_at = now() where id = $1 returning id`,
			l.ID, l.Name, l.Default).Scan(&l.ID); err != nil {
			return err
		}
		if rows == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `delete from lookup_rows where lookup_id = $1`, l.ID); err != nil {
			return err
		}
		return insertLookupRows(ctx, tx, l.ID, rows)
	})
	if err != nil {
		return nil, lookupConflict(err, l.Name)
	}
	return s.GetLookup(ctx, l.ID)
}

// AppendLookupRows upserts rows into a table (a key already there gets the
// new value) unless the table would then hold more than maxRows rows.
func (s *Store) AppendLookupRows(ctx context.Context, id string, rows map[string]string, maxRows int) (*oi.LookupTable, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The row lock serialises imports into one table, so the count holds.
		if err := tx.QueryRow(ctx, `update lookups set updated_at = now() where id = $1 returning id`, id).Scan(&id); err != nil {
			return err
		}
		if err := insertLookupRows(ctx, tx, id, rows); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from lookup_rows where lookup_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > maxRows {
			return oi.Errorf(oi.EINVALID, "the table would hold %d rows; a lookup table holds at most %d", n, maxRows)
		}
		return nil
	})
	var e *oi.Error
	if errors.As(err, &e) {
		return nil, e
	}
	if err != nil {
		return nil, mapErr(err, "lookup")
	}
	return s.GetLookup(ctx, id)
}

// ListLookupSummaries lists lookup tables (one customer's when customerID is
// set) with their row counts, by customer and name.
func (s *Store) ListLookupSummaries(ctx context.Context, customerID string) ([]*LookupSummary, error) {
	rows, _ := s.pool.Query(ctx, `select l.id, l.customer_id, l.name, l.default_value, l.created_at, l.updated_at,
		(select count(*) from lookup_rows r where r.lookup_id = l.id)
		from lookups l where $1 = '' or l.customer_id = $1 order by l.customer_id, l.name`, customerID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*LookupSummary, error) {
		var l LookupSummary
		err := r.Scan(&l.ID, &l.CustomerID, &l.Name, &l.Default, &l.CreatedAt, &l.UpdatedAt, &l.RowCount)
		return &l, err
	})
	return out, mapErr(err, "lookups")
}
