//go:build faults

package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	oi "orderintake"
)

// SIGTERM: the API finishes the request it is reading, refuses new
// connections, then exits 0; the worker lets the printer call in flight
// finish (no second request), then exits 0.
func TestGracefulShutdown(t *testing.T) {
	w := newWorld(t, 1, stackOptions{})
	key := w.shops[0].customerKey

	t.Run("api", func(t *testing.T) {
		body := `{"orderReferenceId": "TERM-API-1", "items": [{"sku": "A", "quantity": 1}]}`
		c := rawConn(t, w.apiAddr)
		head := fmt.Sprintf("POST /v1/orders HTTP/1.1\r\nHost: %s\r\nX-API-KEY: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			w.apiAddr, key, len(body))
		if _, err := io.WriteString(c, head+body[:20]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the handler is reading the body
		term := time.Now()
		w.api.signal(syscall.SIGTERM)
		time.Sleep(700 * time.Millisecond)
		if !w.api.running() {
			t.Fatal("api exited with a request in flight")
		}
		if nc, err := net.DialTimeout("tcp", w.apiAddr, time.Second); err == nil {
			nc.Close()
			t.Error("api still accepts connections after SIGTERM")
		}
		if _, err := io.WriteString(c, body[20:]); err != nil {
			t.Fatal(err)
		}
		resp, raw, err := readAnswer(c, 20*time.Second)
		if err != nil {
			t.Fatalf("in-flight request: %v", err)
		}
		if resp.StatusCode != 202 {
			t.Fatalf("in-flight request answered %d %s, want 202", resp.StatusCode, raw)
		}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		w.ids[out["id"].(string)] = true
		code, ok := w.api.wait(30 * time.Second)
		if !ok || code != 0 {
			t.Fatalf("api after SIGTERM: exited %v, code %d; want exit 0", ok, code)
		}
		t.Logf("SIGTERM api: new connections refused at once, the request in flight finished with 202, exit 0 %.1fs after SIGTERM",
			time.Since(term).Seconds())
		w.api = startProc(w.t, "api2", append(append([]string{}, w.env...), "ORDERINTAKE_HTTP_ADDR="+w.apiAddr), "api")
		w.waitReady(time.Minute)
	})

	t.Run("worker", func(t *testing.T) {
		w.prn.mu.Lock()
		w.prn.delay = 3 * time.Second
		w.prn.mu.Unlock()
		total0, _ := w.prn.counts()
		st, out, _, _ := w.submit(key, "TERM-WORKER-1")
		if st != 202 {
			t.Fatalf("submit = %d %v", st, out)
		}
		id := out["id"].(string)
		w.ids[id] = true
		eventually(t, 30*time.Second, "the printer call to be in flight", func() bool { n, _ := w.prn.counts(); return n > total0 })
		sent := time.Now()
		wk := w.workers[len(w.workers)-1]
		wk.signal(syscall.SIGTERM)
		code, ok := wk.wait(45 * time.Second)
		exitAfter := time.Since(sent)
		if !ok || code != 0 {
			t.Fatalf("worker after SIGTERM: exited %v, code %d; want exit 0", ok, code)
		}
		if exitAfter < 2*time.Second {
			t.Errorf("worker exited %v after SIGTERM, before the printer (3 s) answered", exitAfter)
		}
		if got := w.count(`select count(*) from order_requests where id = $1 and response_status = 201 and printer_attempts = 1`, id); got != 1 {
			t.Errorf("the in-flight printer call was not recorded as one answered attempt")
		}
		w.prn.mu.Lock()
		w.prn.delay = 0
		w.prn.mu.Unlock()
		w.startWorker()
		w.settle(2 * time.Minute)
		if total, _ := w.prn.counts(); total != total0+1 {
			t.Errorf("printer got %d requests for the order, want 1", total-total0)
		}
		if !t.Failed() {
			t.Logf("SIGTERM worker: exited 0 after %.1fs, once the in-flight printer call (3 s) had finished; the order then completed with one printer request", exitAfter.Seconds())
		}
	})
	w.checkCounts()
}

// Bad input at the HTTP edge of the real server: huge headers, slow
// clients, oversize bodies, and the per-key rate limit from the environment.
func TestEdgeLimits(t *testing.T) {
	w := newWorld(t, 2, stackOptions{apiEnv: []string{"ORDERINTAKE_READ_HEADER_TIMEOUT=2s", "ORDERINTAKE_READ_TIMEOUT=3s",
		"ORDERINTAKE_RATE_LIMIT=2", "ORDERINTAKE_RATE_BURST=3"}})
	key := w.shops[0].customerKey
	isProblem := func(h http.Header) bool { return h.Get("Content-Type") == "application/problem+json" }

	t.Run("huge header", func(t *testing.T) {
		st, out, h := w.do("GET", "/v1/orders/ord_x", map[string]string{"X-API-KEY": key, "X-Pad": strings.Repeat("a", 100<<10)}, "")
		if st != 431 || !isProblem(h) || out["code"] != oi.EHEADERS {
			t.Errorf("100 KiB header = %d %v, want 431 problem", st, out)
		}
		// Beyond the server's hard cap net/http answers by itself (plain text).
		st, _, _ = w.do("GET", "/healthz", map[string]string{"X-Pad": strings.Repeat("a", 2<<20)}, "")
		if st != 431 {
			t.Errorf("2 MiB header = %d, want 431", st)
		}
	})

	t.Run("slow headers", func(t *testing.T) {
		c := rawConn(t, w.apiAddr)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		t0 := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if took := time.Since(t0); err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			t.Errorf("a client that never finishes its headers was not cut off (after %v: %v)", took, err)
		} else {
			t.Logf("SLOW HEADERS: connection closed after %.1fs (ORDERINTAKE_READ_HEADER_TIMEOUT=2s)", took.Seconds())
		}
	})

	t.Run("slow body", func(t *testing.T) {
		c := rawConn(t, w.apiAddr)
		fmt.Fprintf(c, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nX-API-KEY: %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"orderRef", key)
		t0 := time.Now()
		resp, raw, err := readAnswer(c, 15*time.Second)
		if err != nil {
			t.Fatalf("slow body: %v", err)
		}
		if resp.StatusCode != 408 || !isProblem(resp.Header) {
			t.Fatalf("slow body = %d %s, want 408 problem", resp.StatusCode, raw)
		}
		t.Logf("SLOW BODY: 408 problem after %.1fs (ORDERINTAKE_READ_TIMEOUT=3s)", time.Since(t0).Seconds())
		eventually(t, 10*time.Second, "the timed-out request to be recorded as rejected", func() bool {
			return w.count(`select count(*) from order_requests where status = 'rejected' and rejection->>'code' = 'timeout'`) == 1
		})
	})

	t.Run("oversize body", func(t *testing.T) {
		st, out, h := w.do("POST", "/v1/orders", map[string]string{"X-API-KEY": key, "Content-Type": "application/json"},
			`{"pad": "`+strings.Repeat("x", 2<<20)+`"}`)
		if st != 413 || !isProblem(h) {
			t.Errorf("2 MiB order = %d %v, want 413 problem", st, out)
		}
	})

	t.Run("secrets at rest", func(t *testing.T) {
		password := "smtp-pw-" + strings.Repeat("s", 20)
		adm := map[string]string{"Authorization": "Bearer " + w.admin, "Content-Type": "application/json"}
		st, out, _ := w.do("PUT", "/v1/admin/settings/smtp", adm,
			`{"fromAddress": "shop@example.com", "host": "127.0.0.1", "port": 2525, "username": "u", "password": "`+password+`", "tls": false}`)
		if st != 200 {
			t.Fatalf("PUT smtp settings = %d %v", st, out)
		}
		w.secrets = append(w.secrets, password)
		_, out, _ = w.do("GET", "/v1/admin/settings/smtp", adm, "")
		if raw, _ := json.Marshal(out); strings.Contains(string(raw), password) {
			t.Errorf("GET smtp settings shows the password")
		}
		for _, sh := range w.shops {
			_, out, _ := w.do("GET", "/v1/admin/triggers?customerId="+sh.fx.Customer.ID, adm, "")
			if raw, _ := json.Marshal(out); strings.Contains(string(raw), sh.fx.Secret) {
				t.Errorf("the trigger list shows a signing secret")
			}
		}
		// No column of any table holds a key, token or secret in plain text.
		found := w.plainSecrets(w.secrets)
		for _, f := range found {
			t.Errorf("stored in plain text: %s", f)
		}
		// The search does find what is stored in plain (a control).
		if len(w.plainSecrets([]string{w.shops[0].fx.Customer.ReferenceID})) == 0 {
			t.Errorf("the search for plain text finds nothing, not even a customer's referenceId")
		}
		t.Logf("SECRETS AT REST: %d secrets searched for in every text, jsonb and bytea column: %d found", len(w.secrets), len(found))
	})

	t.Run("rate limit", func(t *testing.T) {
		other := w.shops[1].customerKey
		var got []int
		var retry string
		for range 6 {
			st, _, h := w.do("GET", "/v1/orders/ord_nope", map[string]string{"X-API-KEY": other}, "")
			got = append(got, st)
			if st == 429 {
				retry = h.Get("Retry-After")
				if !isProblem(h) {
					t.Errorf("429 is not a problem document")
				}
			}
		}
		if got[0] != 404 || got[len(got)-1] != 429 {
			t.Errorf("6 quick requests = %v, want 404s then 429 (burst 3, 2/s)", got)
		}
		if n, err := strconv.Atoi(retry); err != nil || n < 1 {
			t.Errorf("Retry-After = %q, want whole seconds ≥ 1", retry)
		}
		// Another key is not slowed by this one.
		if st, _, _ := w.do("GET", "/v1/orders/ord_nope", map[string]string{"X-API-KEY": key}, ""); st != 404 {
			t.Errorf("another key = %d, want 404", st)
		}
		t.Logf("RATE LIMIT 2/s burst 3: answers %v, Retry-After %s", got, retry)
	})
}
