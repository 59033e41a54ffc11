package store

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// ---- HQ sessions (server-side, so every replica sees logout at once)

// CreateSession stores a new HQ session by the hash of its id and drops
// sessions that have expired (so the table stays the size of the live ones).
func (s *Store) CreateSession(ctx context.Context, idHash, tokenTag []byte, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, `delete from hq_sessions where expires_at < now()`); err != nil {
		return mapErr(err, "session")
	}
	_, err := s.pool.Exec(ctx, `insert into hq_sessions (id_hash, token_tag, expires_at) values ($1, $2, $3)`,
		idHash, tokenTag, expires)
	return mapErr(err, "session")
}

// SessionValid reports whether a live (unexpired) session with that id hash
// exists and was opened with the admin token of tokenTag. ENOTFOUND when not.
func (s *Store) SessionValid(ctx context.Context, idHash, tokenTag []byte) error {
	var one int
	err := s.pool.QueryRow(ctx, `select 1 from hq_sessions where id_hash = $1 and token_tag = $2 and expires_at > now()`,
		idHash, tokenTag).Scan(&one)
	return mapErr(err, "session")
}

// DeleteSession ends one session (logout); ending an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	_, err := s.pool.Exec(ctx, `delete from hq_sessions where id_hash = $1`, idHash)
	return mapErr(err, "session")
}

// DeleteAllSessions ends every HQ session ("sign out everywhere") and says
// how many there were.
func (s *Store) DeleteAllSessions(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `delete from hq_sessions`)
	if err != nil {
		return 0, mapErr(err, "session")
	}
	return tag.RowsAffected(), nil
}

// ---- failed authentications per client address

// AuthBlock is a client address's failure count in its current window.
type AuthBlock struct {
	Failures int
	// RetryAfter is how long until the window closes (0 when no window is open).
	RetryAfter time.Duration
}

// AuthFailures returns the failures of ip in scope within the window that
// opened at its first failure less than window ago. Time is the database's,
// so replicas with skewed clocks agree.
func (s *Store) AuthFailures(ctx context.Context, scope, ip string, window time.Duration) (AuthBlock, error) {
	var b AuthBlock
	var left float64
	err := s.pool.QueryRow(ctx, `select failures, extract(epoch from window_start + make_interval(secs => $3) - now())::float8
		from auth_failures where scope = $1 and ip = $2 and window_start > now() - make_interval(secs => $3)`,
		scope, ip, window.Seconds()).Scan(&b.Failures, &left)
	if errors.Is(err, pgx.ErrNoRows) {
		return AuthBlock{}, nil
	}
	if err != nil {
		return b, mapErr(err, "auth failures")
	}
	b.RetryAfter = time.Duration(math.Max(left, 0) * float64(time.Second))
	return b, nil
}

// RecordAuthFailure counts one failure of ip in scope: within the open
// window it adds one, otherwise it opens a new window at now. It returns the
// count after this failure.
func (s *Store) RecordAuthFailure(ctx context.Context, scope, ip string, window time.Duration) (AuthBlock, error) {
	var b AuthBlock
	var left float64
	err := s.pool.QueryRow(ctx, `insert into auth_failures as f (scope, ip, window_start, failures) values ($1, $2, now(), 1)
		on conflict (scope, ip) do update set
			failures     = case when f.window_start > now() - make_interval(secs => $3) then f.failures + 1 else 1 end,
			window_start = case when f.window_start > now() - make_interval(secs => $3) then f.window_start else now() end
		returning failures, extract(epoch from window_start + make_interval(secs => $3) - now())::float8`,
		scope, ip, window.Seconds()).Scan(&b.Failures, &left)
	if err != nil {
		return b, mapErr(err, "auth failures")
	}
	b.RetryAfter = time.Duration(math.Max(left, 0) * float64(time.Second))
	return b, nil
}

// PruneAuthFailures drops windows that closed (addresses that stopped
// failing), so many addresses cannot grow the table for good.
func (s *Store) PruneAuthFailures(ctx context.Context, window time.Duration) error {
	_, err := s.pool.Exec(ctx, `delete from auth_failures where window_start < now() - make_interval(secs => $1)`, window.Seconds())
	return mapErr(err, "auth failures")
}
