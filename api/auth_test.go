package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	oi "orderintake"
	"orderintake/api"
	"orderintake/internal/webtest"
)

// Ten wrong admin tokens a minute from one address are answered 401; the
// eleventh attempt is 429 with Retry-After, even with the right token, and
// X-Forwarded-For from an untrusted peer does not get around it.
func TestAdminTokenThrottled(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{})
	for i := 1; i <= 10; i++ {
		if st, _, body := e.Bearer("wrong-token-"+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i)); st != 401 {
			t.Fatalf("wrong token %d = %d %s, want 401", i, st, body)
		}
	}
	st, hdr, body := e.Bearer("wrong-token-11", "")
	secs, _ := strconv.Atoi(hdr.Get("Retry-After"))
	if st != 429 || secs < 1 || secs > 60 || hdr.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(body, `"code":"rate_limited"`) {
		t.Fatalf("11th failure = %d Retry-After %q %s %s, want 429 problem+json with Retry-After 1..60",
			st, hdr.Get("Retry-After"), hdr.Get("Content-Type"), body)
	}
	if st, _, _ := e.Bearer(webtest.AdminToken, "203.0.113.9"); st != 429 {
		t.Fatalf("right token from the throttled address = %d, want 429 (else guessing goes on)", st)
	}
}

// A client trying unknown API keys gets 429 after ten; a known key from
// elsewhere keeps working.
func TestUnknownKeysThrottled(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{Config: func(c *api.Config) { c.TrustedProxies = []string{"127.0.0.1"} }})
	cust, err := e.Store.CreateCustomer(context.Background(), &oi.Customer{Name: "Shop", ReferenceID: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.Store.CreateKey(context.Background(), oi.OwnerCustomer, cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	get := func(k, client string) (int, http.Header) {
		st, _, resp, _ := e.Do("GET", "/v1/orders/nope", map[string]string{"X-API-KEY": k, "X-Forwarded-For": client}, "")
		return st, resp.Header
	}
	for i := 1; i <= 10; i++ {
		if st, _ := get("ck_guess_"+strconv.Itoa(i), "192.0.2.50"); st != 401 {
			t.Fatalf("unknown key %d = %d, want 401", i, st)
		}
	}
	if st, hdr := get("ck_guess_11", "192.0.2.50"); st != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("11th unknown key = %d (Retry-After %q), want 429", st, hdr.Get("Retry-After"))
	}
	// The right key from the guessing address is refused as well: a guess
	// that happens to hit must not get through.
	if st, _ := get(key.Key, "192.0.2.50"); st != 429 {
		t.Errorf("a valid key first seen from the throttled address = %d, want 429", st)
	}
	if st, _ := get(key.Key, "192.0.2.51"); st != 404 {
		t.Errorf("the valid key from another address = %d, want 404 (authenticated; no such order)", st)
	}
}

// A burst of parallel guesses gets no more than the limit: ten are answered
// 401, every other 429 (attempts of one address are serialized, so they
// cannot all pass the check before the first failures are counted).
func TestAdminTokenBurstGetsTenTries(t *testing.T) {
	e := webtest.NewWith(t, webtest.Options{})
	const n = 40
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, _ := e.Bearer("adm_parallel_guess_"+strconv.Itoa(i), "")
			statuses <- st
		}()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for st := range statuses {
		got[st]++
	}
	if got[401] != 10 || got[429] != n-10 {
		t.Fatalf("%d parallel wrong tokens answered %v, want 10 × 401 and %d × 429", n, got, n-10)
	}
}
