package api

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	oi "orderintake"
	"orderintake/store"
)

// MaxHeaderBytes is the most request-line and header bytes a request may
// carry. The HTTP server's own cap is set higher (cmd/orderintake) so that
// requests between the two get a problem document here rather than
// net/http's plain-text 431.
const MaxHeaderBytes = 64 << 10

// limitHeaders refuses requests whose headers are too large.
func (s *Server) limitHeaders(c *gin.Context) {
	n := len(c.Request.Method) + len(c.Request.RequestURI) + len(c.Request.Host) + 16
	for k, vs := range c.Request.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if n > MaxHeaderBytes {
		s.fail(c, oi.Errorf(oi.EHEADERS, "the request line and headers take %d bytes; at most %d are accepted", n, MaxHeaderBytes))
		return
	}
	c.Next()
}

// keyLimiter holds one token bucket per API key: each key may make perSec
// requests a second on average, burst at once. Keys are limited one by one
// so that a flooding client slows only itself.
type keyLimiter struct {
	perSec rate.Limit
	burst  int
	mu     sync.Mutex
	m      map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newKeyLimiter returns nil (no limit) when perSec is not positive.
func newKeyLimiter(perSec float64, burst int) *keyLimiter {
	if perSec <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSec)))
	}
	return &keyLimiter{perSec: rate.Limit(perSec), burst: burst, m: map[string]*bucket{}}
}

// allow takes a token for keyID, or says how long until one is free.
func (l *keyLimiter) allow(keyID string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[keyID]
	if !ok {
		if len(l.m) >= 10000 {
			l.prune(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.perSec, l.burst)}
		l.m[keyID] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request costs no token
		return false, d
	}
	return true, 0
}

// prune drops buckets idle long enough to be full again (forgetting them
// changes nothing).
func (l *keyLimiter) prune(now time.Time) {
	full := time.Duration(float64(l.burst)/float64(l.perSec)*float64(time.Second)) + time.Second
	for k, b := range l.m {
		if now.Sub(b.seen) > full {
			delete(l.m, k)
		}
	}
}

// rateLimit answers 429 with Retry-After (whole seconds, at least 1) when
// the caller's key is over its rate.
func (s *Server) rateLimit(c *gin.Context, keyID string) bool {
	ok, wait := s.limiter.allow(keyID, time.Now())
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(max(1, secs)))
	s.fail(c, &oi.Error{Code: oi.ERATELIMITED, Message: "too many requests for this API key; retry after the Retry-After seconds",
		Detail: map[string]any{"retryAfter": max(1, secs)}})
	return false
}

// Failed authentications are throttled per client address: after
// authFailureLimit failures in a window of authFailureWindow (opened by the
// first failure) the address gets 429 with Retry-After until the window
// closes, even with the right credential. The counts live in Postgres
// (auth_failures), so every replica behind a round-robin proxy sees the
// same ones. The client address is gin's ClientIP: X-Forwarded-For counts
// only from ORDERINTAKE_TRUSTED_PROXIES.
const (
	authFailureLimit  = 10
	authFailureWindow = time.Minute

	scopeAdmin = "admin" // wrong admin token: /v1/admin bearer and /hq/login
	scopeKey   = "key"   // unknown or revoked X-API-KEY
)

type throttle struct {
	st  *store.Store
	log *slog.Logger
	// stripes serialize the attempts of one address on this replica (see
	// attempt); addresses share a stripe by hash.
	stripes [256]sync.Mutex
	mu      sync.Mutex
	// blocked remembers addresses this replica saw over the limit, so a
	// flooding client is refused without a database round trip.
	blocked   map[string]time.Time
	lastPrune time.Time
}

func newThrottle(st *store.Store, log *slog.Logger) *throttle {
	return &throttle{st: st, log: log, blocked: map[string]time.Time{}}
}

// attempt runs one authentication attempt of ip in scope. An address over
// the limit is refused (the wait is returned) before check runs; otherwise
// check runs and, when it says the credential was wrong, the failure is
// counted, and a failure beyond the limit also answers the wait. Attempts of
// one address are serialized on this replica, so a burst of parallel
// guesses cannot all pass the check before the first failures are counted:
// behind R replicas at most R attempts race.
func (t *throttle) attempt(ctx context.Context, scope, ip string, check func() (failed bool)) time.Duration {
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
func (t *throttle) wait(ctx context.Context, scope, ip string) time.Duration {
	now := time.Now()
	t.mu.Lock()
	until, ok := t.blocked[scope+"|"+ip]
	t.mu.Unlock()
	if ok && now.Before(until) {
		return until.Sub(now)
	}
	b, err := t.st.AuthFailures(ctx, scope, ip, authFailureWindow)
	if err != nil {
		t.log.Warn("cannot read failed authentications; not throttling this attempt", "scope", scope, "error", err)
		return 0
	}
	if b.Failures >= authFailureLimit && b.RetryAfter > 0 {
		t.remember(scope, ip, now.Add(b.RetryAfter))
		return b.RetryAfter
	}
	return 0
}

// fail counts one failed authentication of ip in scope; past the limit it
// returns the wait (the failure that reaches the limit is still answered
// as a failure).
func (t *throttle) fail(ctx context.Context, scope, ip string) (wait time.Duration) {
	b, err := t.st.RecordAuthFailure(ctx, scope, ip, authFailureWindow)
	if err != nil {
		t.log.Warn("cannot record a failed authentication", "scope", scope, "error", err)
		return 0
	}
	if b.Failures >= authFailureLimit {
		if b.Failures == authFailureLimit {
			t.log.Warn("client reached the failed-authentication limit", "scope", scope, "ip", ip, "failures", b.Failures)
		}
		t.remember(scope, ip, time.Now().Add(b.RetryAfter))
	}
	if b.Failures > authFailureLimit {
		wait = max(b.RetryAfter, time.Second)
	}
	t.mu.Lock()
	prune := time.Since(t.lastPrune) > 5*time.Minute
	if prune {
		t.lastPrune = time.Now()
	}
	t.mu.Unlock()
	if prune {
		if err := t.st.PruneAuthFailures(ctx, authFailureWindow); err != nil {
			t.log.Warn("cannot prune failed authentications", "error", err)
		}
	}
	return wait
}

func (t *throttle) remember(scope, ip string, until time.Time) {
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

// retryAfterSecs is a wait in whole seconds, at least 1.
func retryAfterSecs(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// tooManyFailures answers the API's 429 for a throttled address.
func (s *Server) tooManyFailures(c *gin.Context, wait time.Duration, what string) {
	secs := retryAfterSecs(wait)
	c.Header("Retry-After", strconv.Itoa(secs))
	s.fail(c, &oi.Error{Code: oi.ERATELIMITED, Message: fmt.Sprintf("too many failed %s from your address (%d a minute at most); retry after %d seconds",
		what, authFailureLimit, secs), Detail: map[string]any{"retryAfter": secs}})
}
