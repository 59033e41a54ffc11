// Package throttle counts failed authentications per client address, for
// the API's admin token and keys and HQ's sign-in alike: one throttle, so a
// guesser cannot spread its tries over the two doors.
package throttle

import (
	"context"
	"hash/fnv"
	"log/slog"
	"math"
	"sync"
	"time"

	"orderintake/store"
)

// Failed authentications are throttled per client address: after Limit
// failures in a window of Window (opened by the first failure) the address
// is refused (API: 429 with Retry-After) until the window closes, even with the right credential. The counts live in Postgres
// (auth_failures), so every replica behind a round-robin proxy sees the
// same ones. The client address is gin's ClientIP: X-Forwarded-For counts
// only from ORDERINTAKE_TRUSTED_PROXIES.
const (
	Limit  = 10
	Window = time.Minute

	ScopeAdmin = "admin" // wrong admin token: /v1/admin bearer and /hq/login
	ScopeKey   = "key"   // unknown or revoked X-API-KEY
)

// Throttle counts failed authentications per scope and client address.
type Throttle struct {
	st  *store.Store
	log *slog.Logger
	// stripes serialize the attempts of one address on this replica (see
	// Attempt); addresses share a stripe by hash.
	stripes [256]sync.Mutex
	mu      sync.Mutex
	// blocked remembers addresses this replica saw over the limit, so a
	// flooding client is refused without a database round trip.
	blocked   map[string]time.Time
	lastPrune time.Time
}

// New is a throttle counting in st.
func New(st *store.Store, log *slog.Logger) *Throttle {
	return &Throttle{st: st, log: log, blocked: map[string]time.Time{}}
}

// Attempt runs one authentication attempt of ip in scope. An address over
// the limit is refused (the wait is returned) before check runs; otherwise
// check runs and, when it says the credential was wrong, the failure is
// counted, and a failure beyond the limit also answers the wait. Attempts of
// one address are serialized on this replica, so a burst of parallel
// guesses cannot all pass the check before the first failures are counted:
// behind R replicas at most R attempts race.
func (t *Throttle) Attempt(ctx context.Context, scope, ip string, check func() (failed bool)) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(scope + "|" + ip))
	m := &t.stripes[h.Sum32()%uint32(len(t.stripes))]
	m.Lock()
	defer m.Unlock()
	if wait := t.wait(ctx, scope, ip); wait > 0 {
		return wait
	}
	if !check() {
		return 0
	}
	return t.fail(ctx, scope, ip)
}

// wait says how long ip must wait in scope (0: it may try). When the
// database cannot answer it lets the attempt through and logs: a credential
// is still checked, only the counting is missing.
func (t *Throttle) wait(ctx context.Context, scope, ip string) time.Duration {
	now := time.Now()
	t.mu.Lock()
	until, ok := t.blocked[scope+"|"+ip]
	t.mu.Unlock()
	if ok && now.Before(until) {
		return until.Sub(now)
	}
	b, err := t.st.AuthFailures(ctx, scope, ip, Window)
	if err != nil {
		t.log.Warn("cannot read failed authentications; not throttling this attempt", "scope", scope, "error", err)
		return 0
	}
	if b.Failures >= Limit && b.RetryAfter > 0 {
		t.remember(scope, ip, now.Add(b.RetryAfter))
		return b.RetryAfter
	}
	return 0
}

// fail counts one failed authentication of ip in scope; past the limit it
// returns the wait (the failure that reaches the limit is still answered
// as a failure).
func (t *Throttle) fail(ctx context.Context, scope, ip string) (wait time.Duration) {
	b, err := t.st.RecordAuthFailure(ctx, scope, ip, Window)
	if err != nil {
		t.log.Warn("cannot record a failed authentication", "scope", scope, "error", err)
		return 0
	}
	if b.Failures >= Limit {
		if b.Failures == Limit {
			t.log.Warn("client reached the failed-authentication limit", "scope", scope, "ip", ip, "failures", b.Failures)
		}
		t.remember(scope, ip, time.Now().Add(b.RetryAfter))
	}
	if b.Failures > Limit {
		wait = max(b.RetryAfter, time.Second)
	}
	t.mu.Lock()
	prune := time.Since(t.lastPrune) > 5*time.Minute
	if prune {
		t.lastPrune = time.Now()
	}
	t.mu.Unlock()
	if prune {
		if err := t.st.PruneAuthFailures(ctx, Window); err != nil {
			t.log.Warn("cannot prune failed authentications", "error", err)
		}
	}
	return wait
}

func (t *Throttle) remember(scope, ip string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.blocked) >= 10000 {
		now := time.Now()
		for k, u := range t.blocked {
			if now.After(u) {
				delete(t.blocked, k)
			}
		}
	}
	if len(t.blocked) < 20000 { // beyond that the database alone answers
		t.blocked[scope+"|"+ip] = until
	}
}

// RetryAfterSecs is a wait in whole seconds, at least 1.
func RetryAfterSecs(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
