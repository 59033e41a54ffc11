package main

import (
	"fmt"
	"strconv"
	"time"
)

// Timeouts of the HTTP servers (serveListener): a client that sends its
// headers or body too slowly is cut off, so slow clients cannot hold
// connections and goroutines open. Set from the environment by loadLimits.
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
)

// Defaults of the per-key rate limit: generous for a merchant's batch
// import, small enough that one runaway client cannot starve the others.
const (
	defaultRateLimit = 50.0
	defaultRateBurst = 100
)

// loadLimits reads ORDERINTAKE_RATE_LIMIT, ORDERINTAKE_RATE_BURST,
// ORDERINTAKE_READ_HEADER_TIMEOUT and ORDERINTAKE_READ_TIMEOUT.
func (c *config) loadLimits() error {
	var err error
	if c.RateLimit, err = strconv.ParseFloat(env("ORDERINTAKE_RATE_LIMIT", fmt.Sprint(defaultRateLimit)), 64); err != nil || c.RateLimit < 0 {
		return fmt.Errorf("ORDERINTAKE_RATE_LIMIT must be a number of requests per second per key (0: no limit)")
	}
	if c.RateBurst, err = strconv.Atoi(env("ORDERINTAKE_RATE_BURST", strconv.Itoa(defaultRateBurst))); err != nil || c.RateBurst < 1 {
		return fmt.Errorf("ORDERINTAKE_RATE_BURST must be a whole number of requests, at least 1")
	}
	for name, dst := range map[string]*time.Duration{"ORDERINTAKE_READ_HEADER_TIMEOUT": &readHeaderTimeout, "ORDERINTAKE_READ_TIMEOUT": &readTimeout} {
		v := env(name, "")
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s must be a duration like 10s", name)
		}
		*dst = d
	}
	return nil
}
