package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"orderintake/api"
	"orderintake/internal/pgtest"
	"orderintake/internal/webtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Handler puts the HQ pages on the API's router behind the API's whole
// middleware chain: one listener answers both, the header limit guards the
// pages too, and their requests are counted in /metrics by route.
func TestHandlerServesAPIAndHQBehindOneChain(t *testing.T) {
	e := webtest.New(t)
	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}

	resp, body := get("/hq/login", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(body, `name="nonce"`) {
		t.Fatalf("GET /hq/login = %d, X-Frame-Options %q: want the login page with HQ's headers", resp.StatusCode,
			resp.Header.Get("X-Frame-Options"))
	}
	if st, _ := e.Admin("GET", "/v1/admin/customers", nil); st != 200 {
		t.Fatalf("GET /v1/admin/customers on the same server = %d, want 200", st)
	}

	resp, body = get("/hq/login", map[string]string{"X-Padding": strings.Repeat("x", api.MaxHeaderBytes)})
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(body, "headers_too_large") {
		t.Errorf("HQ page with %d bytes of headers = %d %.200s, want 431 from the API's header limit", api.MaxHeaderBytes,
			resp.StatusCode, body)
	}

	_, metrics := get("/metrics", nil)
	if !strings.Contains(metrics, `route="/hq/login"`) || !strings.Contains(metrics, `route="/v1/admin/customers"`) {
		t.Errorf("/metrics does not count both faces by route:\n%.2000s", metrics)
	}
}
