package loopback

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func post(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// OnRequest sees every request before its answer, with body and arrival
// time; an error it returns is answered 400 and the key is not taken.
func TestOnRequestSeesAndRefuses(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var seen []Request
	s.Default, s.Discard = http.StatusCreated, true
	s.OnRequest = func(r Request) error {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		if strings.Contains(string(r.Body), "bad") {
			return errors.New("not an order of this run")
		}
		return nil
	}
	before := time.Now()
	if status, _ := post(t, s.URL+"/printer", "o-1", `{"order": 1}`); status != http.StatusCreated {
		t.Fatalf("good request answered %d, want 201", status)
	}
	status, body := post(t, s.URL+"/printer", "o-2", `{"order": "bad"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "not an order of this run") {
		t.Fatalf("refused request answered %d %s, want 400 with the reason", status, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0].Path != "/printer" || string(seen[0].Body) != `{"order": 1}` ||
		seen[0].Header.Get("Idempotency-Key") != "o-1" || seen[0].At.Before(before) {
		t.Fatalf("OnRequest saw %+v", seen)
	}
	if requests, keys := s.Counts(); requests != 2 || keys != 1 {
		t.Fatalf("counts: %d requests, %d keys; want 2 and 1 (the refused key is not taken)", requests, keys)
	}
	if got := s.Requests(); len(got) != 0 {
		t.Fatalf("Discard kept %d requests", len(got))
	}
}
