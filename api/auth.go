package api

import (
	clist "container/list"
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/internal/throttle"
	"orderintake/store"
)

// principal is who a key belongs to.
type principal struct {
	key      *oi.APIKey
	customer *oi.Customer // for customer keys
}

// keyCache keeps resolved keys (and their customer) so intake keeps working
// through a short Postgres outage: a fresh entry is served for ttl, a stale
// one for as long as the database cannot answer. ttl is also the bound on
// how long another replica may still accept a key revoked elsewhere.
//
// It is a least-recently-used cache of at most size entries: a flood of
// unknown keys pushes out only the keys nobody uses, never the hot ones
// (container/list and a map: a dozen lines, not worth a dependency).
type keyCache struct {
	store *store.Store
	ttl   time.Duration
	size  int
	mu    sync.Mutex
	m     map[[32]byte]*clist.Element // of *cacheEntry
	lru   *clist.List                 // front: most recently used
}

type cacheEntry struct {
	h   [32]byte
	p   *principal
	at  time.Time
	bad bool // the key is unknown (cached briefly, so floods of bad keys stay cheap)
}

// keyCacheTTL bounds how long a replica trusts what it read: a key revoked
// through one replica is refused by every other within this time.
const keyCacheTTL = 5 * time.Second

const keyCacheSize = 100000

func newKeyCache(s *store.Store, ttl time.Duration, size int) *keyCache {
	return &keyCache{store: s, ttl: ttl, size: size, m: map[[32]byte]*clist.Element{}, lru: clist.New()}
}

// get returns the cached entry for h (marking it recently used).
func (k *keyCache) get(h [32]byte) (cacheEntry, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	el, ok := k.m[h]
	if !ok {
		return cacheEntry{}, false
	}
	k.lru.MoveToFront(el)
	return *el.Value.(*cacheEntry), true
}

// known says whether plain was a valid key when last looked up (however
// long ago): such callers skip the unknown-key throttle.
func (k *keyCache) known(plain string) bool {
	e, ok := k.get(sha256.Sum256([]byte(plain)))
	return ok && !e.bad
}

func (k *keyCache) resolve(ctx context.Context, plain string) (*principal, error) {
	h := sha256.Sum256([]byte(plain))
	e, ok := k.get(h)
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
			k.put(cacheEntry{h: h, at: time.Now(), bad: true})
			return nil, oi.Errorf(oi.EUNAUTHORIZED, "unknown or revoked API key")
		}
		if ok && !e.bad {
			return e.p, nil // database down: the last known answer
		}
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "cannot check the API key right now; try again"}
	}
	k.put(cacheEntry{h: h, p: p, at: time.Now()})
	return p, nil
}

func (k *keyCache) put(e cacheEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if el, ok := k.m[e.h]; ok {
		*el.Value.(*cacheEntry) = e
		k.lru.MoveToFront(el)
		return
	}
	k.m[e.h] = k.lru.PushFront(&e)
	for k.lru.Len() > k.size {
		old := k.lru.Back()
		k.lru.Remove(old)
		delete(k.m, old.Value.(*cacheEntry).h)
	}
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
	k.lru.Init()
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
		ctx := c.Request.Context()
		// Keys never seen valid are throttled per address (a key-guessing
		// client gets 429); keys known good skip it, so the hot path stays
		// free of database calls and outage-proof.
		var p *principal
		var err error
		if s.keys.known(plain) {
			p, err = s.keys.resolve(ctx, plain)
		} else {
			wait := s.throttle.Attempt(ctx, throttle.ScopeKey, c.ClientIP(), func() bool {
				p, err = s.keys.resolve(ctx, plain)
				return oi.ErrorCode(err) == oi.EUNAUTHORIZED
			})
			if wait > 0 {
				s.tooManyFailures(c, wait, "API keys")
				return
			}
		}
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
