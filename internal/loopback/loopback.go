// Package loopback is the stand-in printer and webhook receiver that tests
// (api, workflows, e2e, faults) run on 127.0.0.1: it records what it gets,
// answers a scripted status per request, counts orders by Idempotency-Key,
// can go down (connection refused) and come back on the same port, and can
// act on each new order (report its events). It imports no testing package,
// so the benchmark may use it too.
package loopback

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Request is one request the server got.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

// Server is a loopback HTTP server. Set the exported fields before the
// first request arrives (or while it is down).
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string
	// Script is the status of each request in turn; then Default.
	Script  []int
	Default int
	// KeyHeader names the header that identifies an order (default
	// Idempotency-Key): a printer that honours it prints a repeat once.
	KeyHeader string
	// Delay is how long each answer waits; Hold, when set, is called
	// before each answer too (a test that changes the wait while running).
	Delay time.Duration
	Hold  func()
	// OnNewKey is called (in its own goroutine) the first time a key is
	// answered with a success: a printer then reports the order's events.
	OnNewKey func(key string)
	// Discard keeps counts but not the requests (long load runs).
	Discard bool
	// OnRequest, when set, sees each request as it arrives, before it is
	// answered and in its own goroutine (a load run tallies arrivals
	// without keeping them). An error refuses the request: it is answered
	// 400 with the error's text, whatever the script says, and its key is
	// not counted.
	OnRequest func(Request) error

	addr  string
	mu    sync.Mutex
	srv   *http.Server
	got   []Request
	total int
	keys  map[string]int
}

// Start listens on a free loopback port and serves; Close stops it.
func Start(script ...int) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loopback: listen: %w", err)
	}
	s := &Server{Script: script, Default: http.StatusOK, addr: ln.Addr().String(), keys: map[string]int{}}
	s.URL = "http://" + s.addr
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Close stops the server and ends its connections.
func (s *Server) Close() { s.Down() }

// Down closes the listener and every connection: callers get "connection
// refused" until Up.
func (s *Server) Down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up listens again on the same port (the old socket may linger a moment).
func (s *Server) Up() error {
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(fmt.Errorf("loopback: listen again on %s", s.addr), err)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	kh := s.KeyHeader
	if kh == "" {
		kh = "Idempotency-Key"
	}
	key := r.Header.Get(kh)
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: body, At: time.Now()}
	s.mu.Lock()
	onRequest := s.OnRequest
	s.mu.Unlock()
	var refused error
	if onRequest != nil {
		refused = onRequest(req)
	}
	s.mu.Lock()
	s.total++
	if !s.Discard {
		req.Header = r.Header.Clone()
		s.got = append(s.got, req)
	}
	status := s.Default
	if s.total <= len(s.Script) {
		status = s.Script[s.total-1]
	}
	if refused != nil {
		status = http.StatusBadRequest
	}
	first := false
	if status < 400 && key != "" {
		s.keys[key]++
		first = s.keys[key] == 1
	}
	delay, hold, onNew := s.Delay, s.Hold, s.OnNewKey
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if hold != nil {
		hold()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status >= 400 {
		msg := "refused by the test server"
		if refused != nil {
			msg = refused.Error()
		}
		b, _ := json.Marshal(map[string]string{"error": msg})
		_, _ = w.Write(b)
		return
	}
	order := "P-1"
	if key != "" {
		order = "P-" + key
	}
	b, _ := json.Marshal(map[string]string{"printerOrderId": order})
	_, _ = w.Write(b)
	if first && onNew != nil {
		go onNew(key) // a repeat (same key) is answered, not printed twice
	}
}

// Requests returns what the server got so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

// Events returns the "event" field of each JSON body received.
func (s *Server) Events() []string {
	var out []string
	for _, r := range s.Requests() {
		var v struct{ Event string }
		_ = json.Unmarshal(r.Body, &v)
		out = append(out, v.Event)
	}
	return out
}

// Counts returns the requests received and the distinct keys taken.
func (s *Server) Counts() (requests, keys int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.keys)
}

// Keys returns how many successful requests each key had.
func (s *Server) Keys() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}
