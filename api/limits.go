package api

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	oi "orderintake"
	"orderintake/internal/throttle"
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

// tooManyFailures answers the API's 429 for a throttled address.
func (s *Server) tooManyFailures(c *gin.Context, wait time.Duration, what string) {
	secs := throttle.RetryAfterSecs(wait)
	c.Header("Retry-After", strconv.Itoa(secs))
	s.fail(c, &oi.Error{Code: oi.ERATELIMITED, Message: fmt.Sprintf("too many failed %s from your address (%d a minute at most); retry after %d seconds",
		what, throttle.Limit, secs), Detail: map[string]any{"retryAfter": secs}})
}
