package api

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
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
