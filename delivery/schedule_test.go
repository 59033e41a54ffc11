package delivery

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestNextDelaySteps(t *testing.T) {
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
		5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		d, ok := NextDelay(i+1, 0.5, 0)
		if !ok || d != w {
			t.Errorf("attempt %d: %v %v, want %v", i+1, d, ok, w)
		}
	}
	if d, ok := NextDelay(11, 0.5, 0); ok {
		t.Errorf("attempt 11 scheduled after %v: the schedule has ten attempts", d)
	}
	if _, ok := NextDelay(100, 0.5, time.Hour); ok {
		t.Error("attempt 100 scheduled")
	}
}

func TestNextDelayJitterBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for next := 1; next <= len(Schedule); next++ {
		base := Schedule[next-1]
		lo, hi := base*8/10, base*12/10
		if d, _ := NextDelay(next, 0, 0); d != lo {
			t.Errorf("attempt %d, r=0: %v, want %v (-20 %%)", next, d, lo)
		}
		if d, _ := NextDelay(next, 0.999999999, 0); d > hi || d < base*119/100 {
			t.Errorf("attempt %d, r→1: %v, want just under %v (+20 %%)", next, d, hi)
		}
		for range 1000 {
			if d, _ := NextDelay(next, rng.Float64(), 0); d < lo || d > hi {
				t.Fatalf("attempt %d: %v outside [%v, %v]", next, d, lo, hi)
			}
		}
	}
}

func TestNextDelayRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		next       int
		retryAfter time.Duration
		want       time.Duration
	}{
		{2, 2 * time.Minute, 2 * time.Minute},   // raises 5 s
		{3, 1 * time.Minute, 5 * time.Minute},   // never lowers
		{2, 72 * time.Hour, 24 * time.Hour},     // capped
		{5, 30 * time.Hour, 24 * time.Hour},     // capped
		{10, 30 * time.Hour, 24 * time.Hour},    // schedule's own 24 h stands
		{4, -5 * time.Second, 30 * time.Minute}, // nonsense ignored
	} {
		if d, ok := NextDelay(tc.next, 0.5, tc.retryAfter); !ok || d != tc.want {
			t.Errorf("NextDelay(%d, 0.5, %v) = %v, want %v", tc.next, tc.retryAfter, d, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"120":                           120 * time.Second,
		" 7 ":                           7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"99999999999":                   MaxRetryAfter,
		"Sun, 01 Mar 2026 12:05:00 GMT": 5 * time.Minute,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0, // in the past
		"Tue, 10 Mar 2026 12:00:00 GMT": MaxRetryAfter,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
