package api

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/store"
)

// principal is who a key belongs to.
type principal struct {
	key      *oi.APIKey
	customer *oi.Customer // for customer keys
}

// keyCache keeps resolved keys (and their customer) so intake keeps working
// through a short Postgres outage: a fresh entry is served for ttl, a stale
// one for as long as the database cannot answer.
type keyCache struct {
	store *store.Store
	ttl   time.Duration
	mu    sync.Mutex
	m     map[[32]byte]cacheEntry
}

type cacheEntry struct {
	p   *principal
	at  time.Time
	bad bool // the key is unknown (cached briefly, so floods of bad keys stay cheap)
}

func newKeyCache(s *store.Store, ttl time.Duration) *keyCache {
	return &keyCache{store: s, ttl: ttl, m: map[[32]byte]cacheEntry{}}
}

func (k *keyCache) resolve(ctx context.Context, plain string) (*principal, error) {
	h := sha256.Sum256([]byte(plain))
	k.mu.Lock()
	e, ok := k.m[h]
	k.mu.Unlock()
	if ok && time.Since(e.at) < k.ttl {
		if e.bad {
			return nil, oi.Errorf(oi.EUNAUTHORIZED, "unknown or revoked API key")
		}
		return e.p, nil
	}
	p, err := k.load(ctx, plain)
	if err != nil {
		code := oi.ErrorCode(err)
		if code == oi.ENOTFOUND {
			k.put(h, cacheEntry{at: time.Now(), bad: true})
			return nil, oi.Errorf(oi.EUNAUTHORIZED, "unknown or revoked API key")
		}
		if ok && !e.bad {
			return e.p, nil // database down: the last known answer
		}
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "cannot check the API key right now; try again"}
	}
	k.put(h, cacheEntry{p: p, at: time.Now()})
	return p, nil
}

func (k *keyCache) put(h [32]byte, e cacheEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) > 100000 {
		clear(k.m)
	}
	k.m[h] = e
}

func (k *keyCache) load(ctx context.Context, plain string) (*principal, error) {
	key, err := k.store.Authenticate(ctx, plain)
	if err != nil {
		return nil, err
	}
	p := &principal{key: key}
	if key.OwnerKind == oi.OwnerCustomer {
		if p.customer, err = k.store.GetCustomer(ctx, key.OwnerID); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// forget drops cached keys (after a revocation or a customer change).
func (k *keyCache) forget() {
	k.mu.Lock()
	clear(k.m)
	k.mu.Unlock()
}

// requireKey authenticates X-API-KEY as a key of the given owner kind.
func (s *Server) requireKey(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		plain := c.GetHeader("X-API-KEY")
		if plain == "" {
			s.fail(c, oi.Errorf(oi.EUNAUTHORIZED, "missing X-API-KEY header"))
			return
		}
		p, err := s.keys.resolve(c.Request.Context(), plain)
		if err != nil {
			s.fail(c, err)
			return
		}
		if !s.rateLimit(c, p.key.ID) {
			return
		}
		if p.key.OwnerKind != kind {
			s.fail(c, oi.Errorf(oi.EFORBIDDEN, "this route needs a %s key", kind))
			return
		}
		c.Set("principal", p)
		c.Next()
	}
}

func who(c *gin.Context) *principal { return c.MustGet("principal").(*principal) }
