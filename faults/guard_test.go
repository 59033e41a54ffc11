//go:build faults

package faults

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	oi "orderintake"
)

// The printer call's guard is the worker process's, set by its environment:
// with ORDERINTAKE_ALLOW_PRIVATE_DESTINATIONS=false a printer on loopback is
// never called and the order fails with the refusal recorded; with the
// address in ORDERINTAKE_ALLOWED_DESTINATIONS the same printer is reached.
func TestWorkerProcessGuardsPrinterCalls(t *testing.T) {
	s := newStack(t, stackOptions{})
	ctx := context.Background()
	p := newPrinter(t)
	shops := s.configure(p.URL(), "http://127.0.0.1:9/hook", 1, oi.EventFailed)

	restartWorker := func(name string, extra ...string) {
		for _, w := range s.workers {
			if w.running() {
				w.signal(syscall.SIGTERM)
				if _, ok := w.wait(45 * time.Second); !ok {
					t.Fatalf("%s did not stop", w.name)
				}
			}
		}
		w := startProc(t, name, append(append([]string{}, s.env...), extra...), "worker")
		w.waitLog("worker started", time.Minute)
		s.workers = append(s.workers, w)
	}
	order := func(ref string) (id string, o *oi.OrderRequest) {
		st, out, _, _ := s.submit(shops[0].customerKey, ref)
		if st != 202 {
			t.Fatalf("submit %s = %d %v", ref, st, out)
		}
		id = out["id"].(string)
		eventually(t, time.Minute, ref+" past the printer stage", func() bool {
			o, _ = s.st.GetOrderRequest(ctx, id)
			return o != nil && o.Status != oi.StatusAccepted
		})
		return id, o
	}

	restartWorker("worker-guarded", "ORDERINTAKE_ALLOW_PRIVATE_DESTINATIONS=false")
	_, o := order("GUARD-1")
	if o.Status != oi.EventFailed || o.Response == nil || !strings.Contains(o.Response.Error, "private address (127.0.0.1)") {
		t.Fatalf("order to a loopback printer: status %s, response %+v; want failed with the refusal", o.Status, o.Response)
	}
	if n, _ := p.counts(); n != 0 {
		t.Fatalf("the loopback printer got %d requests from a guarded worker", n)
	}

	restartWorker("worker-allow-listed", "ORDERINTAKE_ALLOW_PRIVATE_DESTINATIONS=false", "ORDERINTAKE_ALLOWED_DESTINATIONS=127.0.0.1")
	_, o = order("GUARD-2")
	if o.Status != oi.StatusSubmitted || o.Response == nil || o.Response.Status != 201 {
		t.Fatalf("order to an allow-listed printer: status %s, response %+v; want submitted", o.Status, o.Response)
	}
	if n, _ := p.counts(); n != 1 {
		t.Fatalf("allow-listed printer got %d requests, want 1", n)
	}
}

// A bad TEMPORAL_TLS_* setting stops api and worker at start with an error
// naming the variable, instead of falling back to plain gRPC.
func TestBadTemporalTLSSettingStopsTheProcess(t *testing.T) {
	for _, cmd := range []string{"api", "worker"} {
		p := startProc(t, cmd+"-bad-tls", []string{"DATABASE_URL=postgres://127.0.0.1:1/x", "ORDERINTAKE_SECRET_KEY=" + strings.Repeat("ab", 32),
			"ORDERINTAKE_ADMIN_TOKEN=adm_" + strings.Repeat("x", 32), "TEMPORAL_TLS_CERT=/nonexistent/client.pem",
			"TEMPORAL_TLS_KEY=/nonexistent/client.key"}, cmd)
		code, ok := p.wait(30 * time.Second)
		if !ok || code == 0 {
			t.Fatalf("%s with a missing TEMPORAL_TLS_CERT: exited=%v code=%d, want a failed start", cmd, ok, code)
		}
		if log := p.log(); !strings.Contains(log, "TEMPORAL_TLS_CERT: cannot read /nonexistent/client.pem") {
			t.Fatalf("%s log does not name the variable and file:\n%s", cmd, log)
		}
	}
}
