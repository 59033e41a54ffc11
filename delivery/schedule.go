package delivery

import "time"

// Schedule is the delay before each attempt (DESIGN.md): immediately, 5s, 5m, 30m, 2h, 5h,
// 10h, 14h, 20h, 24h, each ±20 % jitter. Ten attempts over about three days.
var Schedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// NextDelay is the delay before attempt number next (1-based; attempt 1 is immediate),
// jittered by r in [0,1) (r=0.5 gives the exact step, 0 gives -20 %, just under 1 gives +20 %);
// ok=false when the schedule is exhausted. retryAfter (if >0) raises the delay, but never
// beyond MaxRetryAfter: a receiver may slow us down, not park a delivery indefinitely.
func NextDelay(next int, r float64, retryAfter time.Duration) (d time.Duration, ok bool) {
	if next < 1 {
		next = 1
	}
	if next > len(Schedule) {
		return 0, false
	}
	switch {
	case r != r: // NaN: no jitter rather than garbage
		r = 0.5
	case r < 0:
		r = 0
	case r > 1:
		r = 1
	}
	d = time.Duration(float64(Schedule[next-1]) * (0.8 + 0.4*r))
	if retryAfter > 0 {
		d = max(d, min(retryAfter, MaxRetryAfter))
	}
	return d, true
}
