package api

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"orderintake/internal/testenv"
)

// A flood of unknown keys (each cached as bad) pushes out only keys nobody
// uses: a key in use stays cached however many others pass through. The
// old cache cleared everything at its size limit, hot keys included.
func TestKeyCacheKeepsHotKeys(t *testing.T) {
	const size = 100
	k := newKeyCache(nil, time.Minute, size)
	hot := sha256.Sum256([]byte("ck_hot"))
	cold := sha256.Sum256([]byte("ck_cold"))
	hotP := &principal{}
	k.put(cacheEntry{h: hot, p: hotP, at: time.Now()})
	k.put(cacheEntry{h: cold, p: &principal{}, at: time.Now()})
	for i := range 10 * size {
		k.put(cacheEntry{h: sha256.Sum256([]byte("ck_guess_" + strconv.Itoa(i))), at: time.Now(), bad: true})
		if i%(size/4) == 0 { // the hot key is used between the guesses
			if e, ok := k.get(hot); !ok || e.p != hotP {
				t.Fatalf("hot key evicted after %d unknown keys", i+1)
			}
		}
	}
	if e, ok := k.get(hot); !ok || e.p != hotP {
		t.Fatal("hot key evicted by the flood")
	}
	if _, ok := k.get(cold); ok {
		t.Error("a key nobody used survived 10× the cache size of other keys: the cache does not evict")
	}
	if n := k.lru.Len(); n != size || len(k.m) != size {
		t.Errorf("cache holds %d entries (map %d), want at most %d", n, len(k.m), size)
	}
}

// Parallel attempts of one address are serialized: of 40 wrong guesses sent
// at once, only the first ten have their credential checked at all (the
// rest find the address over the limit); without the serialization every
// guess would be checked before the first failures were counted.
func TestThrottleChecksAtMostTheLimit(t *testing.T) {
	th := newThrottle(testenv.Store(t), slog.New(slog.DiscardHandler))
	var checked, inFlight, most atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th.attempt(context.Background(), scopeAdmin, "192.0.2.77", func() bool {
				checked.Add(1)
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond) // a slow credential lookup
				inFlight.Add(-1)
				return true // wrong
			})
		}()
	}
	wg.Wait()
	if checked.Load() != authFailureLimit || most.Load() != 1 {
		t.Fatalf("credentials checked %d times, %d at once; want %d, one at a time", checked.Load(), most.Load(), authFailureLimit)
	}
	// Another address is not held up.
	if wait := th.attempt(context.Background(), scopeAdmin, "192.0.2.78", func() bool { return false }); wait != 0 {
		t.Errorf("another address waits %v", wait)
	}
}
