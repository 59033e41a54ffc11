package throttle

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Parallel attempts of one address are serialized: of 40 wrong guesses sent
// at once, only the first ten have their credential checked at all (the
// rest find the address over the limit); without the serialization every
// guess would be checked before the first failures were counted.
func TestThrottleChecksAtMostTheLimit(t *testing.T) {
	th := New(testenv.Store(t), slog.New(slog.DiscardHandler))
	var checked, inFlight, most atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th.Attempt(context.Background(), ScopeAdmin, "192.0.2.77", func() bool {
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
	if checked.Load() != Limit || most.Load() != 1 {
		t.Fatalf("credentials checked %d times, %d at once; want %d, one at a time", checked.Load(), most.Load(), Limit)
	}
	// Another address is not held up.
	if wait := th.Attempt(context.Background(), ScopeAdmin, "192.0.2.78", func() bool { return false }); wait != 0 {
		t.Errorf("another address waits %v", wait)
	}
}
