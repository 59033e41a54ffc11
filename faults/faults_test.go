//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	oi "orderintake"
)

var journey = []string{oi.EventReceived, oi.EventShipped, oi.EventDelivered}

// world is a stack with a printer that reports the journey's events back
// and a receiver for the postbacks of each event.
type world struct {
	*stack
	prn   *printer
	rcv   *receiver
	rep   *reporter
	shops []shop
	mu    sync.Mutex
	ids   map[string]bool // accepted order ids
}

func newWorld(t *testing.T, shops int, o stackOptions) *world {
	s := newStack(t, o)
	w := &world{stack: s, prn: newPrinter(t), rcv: newReceiver(t), ids: map[string]bool{}}
	w.shops = s.configure(w.prn.URL(), w.rcv.url, shops, journey...)
	w.rep = newReporter(s.apiURL, w.shops[0].printerKey, 16, journey...)
	w.prn.mu.Lock()
	w.prn.report = w.rep.report
	w.prn.mu.Unlock()
	return w
}

// submitMany submits n orders from parallel clients, round robin over the
// shops, and returns the statuses seen and the slowest answer.
func (w *world) submitMany(prefix string, n, parallel int) (map[int]int, time.Duration) {
	statuses := map[int]int{}
	var slowest time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sh := w.shops[i%len(w.shops)]
				st, out, _, took := w.submit(sh.customerKey, fmt.Sprintf("%s-%d", prefix, i))
				mu.Lock()
				statuses[st]++
				slowest = max(slowest, took)
				if id, ok := out["id"].(string); ok && (st == 202 || st == 200) {
					w.ids[id] = true
				} else if st != 202 {
					w.t.Logf("order %s-%d: %d %v", prefix, i, st, out)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return statuses, slowest
}

func (w *world) accepted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ids)
}

// settle waits until every accepted order is delivered with all its
// postbacks, and returns how long that took.
func (w *world) settle(d time.Duration) time.Duration {
	n := w.accepted()
	t0 := time.Now()
	eventually(w.t, d, fmt.Sprintf("%d orders delivered", n), func() bool {
		return w.count(`select count(*) from order_requests where status = 'delivered'`) == n
	})
	eventually(w.t, d, fmt.Sprintf("%d postbacks delivered", n*len(journey)), func() bool {
		return w.count(`select count(*) from postbacks where status = 'delivered'`) == n*len(journey)
	})
	return time.Since(t0)
}

// checkCounts asserts the invariants after a run: every accepted order is
// one row, reached the printer as one order (repeats carry the same
// Idempotency-Key and are dropped by it), and fired each postback once.
func (w *world) checkCounts() (printerRepeats, webhookRepeats int) {
	t := w.t
	t.Helper()
	n := w.accepted()
	if rows := w.count(`select count(*) from order_requests where status <> 'rejected'`); rows != n {
		t.Errorf("order rows = %d, accepted = %d", rows, n)
	}
	total, orders := w.prn.counts()
	if orders != n {
		t.Errorf("printer got %d distinct orders, accepted = %d", orders, n)
	}
	for key := range w.prn.keys() {
		if !w.ids[key] {
			t.Errorf("printer got Idempotency-Key %q, not an accepted order id", key)
		}
	}
	want := n * len(journey)
	if ev := w.count(`select count(*) from order_events where accepted`); ev != want {
		t.Errorf("accepted events = %d, want %d", ev, want)
	}
	if pb := w.count(`select count(*) from postbacks`); pb != want {
		t.Errorf("postback rows = %d, want %d", pb, want)
	}
	hooks, distinct := w.rcv.counts()
	if distinct != want {
		t.Errorf("receiver got %d distinct webhooks, want %d", distinct, want)
	}
	if f := w.rep.failures(); len(f) > 0 {
		t.Errorf("%d events could not be reported, e.g. %s", len(f), f[0])
	}
	return total - orders, hooks - distinct
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// Load: many orders through the whole product, with their events and
// postbacks; afterwards the counts agree and nothing arrived twice.
func TestLoad(t *testing.T) {
	n := envInt("FAULTS_LOAD_ORDERS", 300)
	w := newWorld(t, 4, stackOptions{apiEnv: []string{"ORDERINTAKE_RATE_LIMIT=0"}})
	t0 := time.Now()
	statuses, slowest := w.submitMany("LOAD", n, 16)
	intake := time.Since(t0)
	if statuses[202] != n {
		t.Fatalf("intake answers %v, want %d × 202", statuses, n)
	}
	w.settle(10*time.Minute + time.Duration(n)*200*time.Millisecond)
	repeats, hookRepeats := w.checkCounts()
	if repeats != 0 || hookRepeats != 0 {
		t.Errorf("with no faults: %d repeated printer requests and %d repeated webhooks, want none", repeats, hookRepeats)
	}
	total := time.Since(t0)
	t.Logf("LOAD %d orders: intake %.1fs (%.0f orders/s, slowest answer %v); all delivered with %d postbacks after %.1fs (%.1f orders/s end to end); printer requests %d, webhooks %d",
		n, intake.Seconds(), float64(n)/intake.Seconds(), slowest.Round(time.Millisecond), n*len(journey),
		total.Seconds(), float64(n)/total.Seconds(), n+repeats, n*len(journey)+hookRepeats)
}

// The worker is killed (SIGKILL) twice: while orders go to the printer and
// while postbacks go out. New workers finish the journeys; nothing is lost
// and the printer gets each order once by its Idempotency-Key.
func TestWorkerKilledMidJourney(t *testing.T) {
	const n = 40
	w := newWorld(t, 2, stackOptions{})
	w.prn.delay = 300 * time.Millisecond // printer calls stay in flight
	statuses, _ := w.submitMany("KILL", n, 8)
	if statuses[202] != n {
		t.Fatalf("intake answers %v, want %d × 202", statuses, n)
	}
	eventually(t, time.Minute, "a third of the orders at the printer", func() bool { _, o := w.prn.counts(); return o >= n/3 })
	w.workers[0].signal(syscall.SIGKILL)
	w.workers[0].wait(10 * time.Second)
	_, atKill := w.prn.counts()
	time.Sleep(time.Second)
	t1 := time.Now()
	w.startWorker()
	eventually(t, 2*time.Minute, "webhooks flowing", func() bool { h, _ := w.rcv.counts(); return h >= n })
	w.workers[1].signal(syscall.SIGKILL)
	w.workers[1].wait(10 * time.Second)
	hooksAtKill, _ := w.rcv.counts()
	time.Sleep(time.Second)
	t2 := time.Now()
	w.startWorker()
	w.settle(3 * time.Minute)
	repeats, hookRepeats := w.checkCounts()
	t.Logf("WORKER KILL: %d orders; first kill with %d/%d at the printer, second with %d/%d webhooks out; "+
		"all delivered %.1fs after the first restart, %.1fs after the second; printer repeats (same key, deduped) %d; webhook repeats (same webhook-id) %d",
		n, atKill, n, hooksAtKill, n*len(journey), time.Since(t1).Seconds(), time.Since(t2).Seconds(), repeats, hookRepeats)
}

// Postgres stops for 30 s while orders arrive: intake keeps answering 202
// (keys are cached, the workflow's writes retry) and everything is recorded
// once the database is back.
func TestPostgresStoppedWhileOrdersArrive(t *testing.T) {
	outage := envDuration("FAULTS_PG_OUTAGE", 30*time.Second)
	w := newWorld(t, 2, stackOptions{})
	if st, _ := w.submitMany("WARM", 2, 2); st[202] != 2 {
		t.Fatalf("warm-up orders: %v", st)
	}
	w.settle(time.Minute) // keys and the printer key are cached now

	stopPostgres(t)
	down := time.Now()
	statuses := map[int]int{}
	var slowest time.Duration
	i := 0
	readyDuringOutage := 0
	for time.Since(down) < outage {
		sh := w.shops[i%len(w.shops)]
		st, out, _, took := w.submit(sh.customerKey, fmt.Sprintf("PGDOWN-%d", i))
		statuses[st]++
		slowest = max(slowest, took)
		if id, ok := out["id"].(string); ok && st == 202 {
			w.ids[id] = true
		} else {
			t.Logf("order during the outage: %d %v", st, out)
		}
		if i == 5 {
			resp, err := httpClient.Get(w.apiURL + "/readyz")
			if err == nil {
				readyDuringOutage = resp.StatusCode
				resp.Body.Close()
			}
			// Reads need the database: a 503 to retry, not a 500.
			for id := range w.ids {
				st, out, h := w.do("GET", "/v1/orders/"+id, map[string]string{"X-API-KEY": w.shops[0].customerKey}, "")
				if st != 503 || h.Get("Retry-After") == "" || out["code"] != oi.EUNAVAILABLE {
					t.Errorf("reading an order during the outage = %d %v, want 503 with Retry-After", st, out)
				}
				break
			}
		}
		i++
		time.Sleep(500 * time.Millisecond)
	}
	startPostgres(t)
	back := time.Now()
	if statuses[202] != i {
		t.Errorf("intake during the outage answered %v, want %d × 202", statuses, i)
	}
	if readyDuringOutage != 503 {
		t.Errorf("/readyz during the outage = %d, want 503", readyDuringOutage)
	}
	recorded := eventually(t, 2*time.Minute, "the orders taken during the outage to be recorded", func() bool {
		return w.count(`select count(*) from order_requests where status <> 'rejected'`) == w.accepted()
	})
	done := w.settle(3 * time.Minute)
	repeats, hookRepeats := w.checkCounts()
	t.Logf("POSTGRES DOWN %v: %d orders during the outage, all 202 (slowest %v); /readyz 503; all recorded %.1fs and delivered %.1fs after restart (%.1fs total); printer repeats %d; webhook repeats %d",
		outage, i, slowest.Round(time.Millisecond), recorded.Seconds(), done.Seconds(), time.Since(back).Seconds(), repeats, hookRepeats)
}

// The printer is down (connection refused): orders wait, their attempts are
// recorded, and they go through when it returns.
func TestPrinterDown(t *testing.T) {
	const n = 20
	outage := envDuration("FAULTS_PRINTER_DOWN", 20*time.Second)
	w := newWorld(t, 1, stackOptions{})
	w.prn.down()
	down := time.Now()
	if st, _ := w.submitMany("PRNDOWN", n, 4); st[202] != n {
		t.Fatalf("intake while the printer is down: %v", st)
	}
	eventually(t, time.Minute, "every order to have tried the printer twice", func() bool {
		return w.count(`select count(*) from order_requests where printer_attempts >= 2 and response_error like '%connection refused%'`) == n
	})
	if f := w.count(`select count(*) from order_requests where status = 'failed'`); f != 0 {
		t.Fatalf("%d orders failed while the printer was down", f)
	}
	time.Sleep(time.Until(down.Add(outage)))
	w.prn.up()
	up := time.Now()
	through := eventually(t, 5*time.Minute, "all orders at the printer", func() bool { _, o := w.prn.counts(); return o == n })
	w.settle(3 * time.Minute)
	repeats, _ := w.checkCounts()
	if repeats != 0 {
		t.Errorf("printer got %d repeated requests", repeats)
	}
	maxAttempts := w.count(`select max(printer_attempts) from order_requests`)
	t.Logf("PRINTER DOWN %v: %d orders waited (up to %d attempts each), all at the printer %.1fs after it returned, all delivered %.1fs after; repeats %d",
		outage, n, maxAttempts, through.Seconds(), time.Since(up).Seconds(), repeats)
}

// Temporal cannot be reached: intake answers 503 with Retry-After and
// records nothing; once it is back the same orders are new (202, not 200).
func TestTemporalUnreachable(t *testing.T) {
	const n = 5
	w := newWorld(t, 1, stackOptions{})
	if st, _ := w.submitMany("TWARM", 1, 1); st[202] != 1 {
		t.Fatalf("warm-up order: %v", st)
	}
	w.settle(time.Minute)
	var warmID string
	for id := range w.ids {
		warmID = id
	}

	w.temporal.signal(syscall.SIGTERM)
	if _, ok := w.temporal.wait(time.Minute); !ok {
		t.Fatal("temporal did not stop")
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var slowest time.Duration
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, out, h, took := w.submit(w.shops[0].customerKey, fmt.Sprintf("TDOWN-%d", i))
			mu.Lock()
			defer mu.Unlock()
			slowest = max(slowest, took)
			if st != 503 || h.Get("Retry-After") == "" || h.Get("Content-Type") != "application/problem+json" || out["code"] != oi.EUNAVAILABLE {
				t.Errorf("intake with Temporal down = %d %v (Retry-After %q), want 503 problem with Retry-After", st, out, h.Get("Retry-After"))
			}
		}()
	}
	wg.Wait()
	st, out, h := w.postEvent(w.shops[0].printerKey, warmID, `{"eventId": "late-1", "status": "returned"}`)
	if st != 503 || h.Get("Retry-After") == "" {
		t.Errorf("event with Temporal down = %d %v, want 503 with Retry-After", st, out)
	}
	if rows := w.count(`select count(*) from order_requests`); rows != 1 {
		t.Errorf("%d order rows after refused orders, want only the warm-up order", rows)
	}

	t0 := time.Now()
	w.startTemporal()
	ready := w.waitReady(2 * time.Minute)
	statuses, _ := w.submitMany("TDOWN", n, n)
	if statuses[202] != n {
		t.Errorf("the refused orders again, Temporal back: %v, want %d × 202 (new orders)", statuses, n)
	}
	w.settle(3 * time.Minute)
	repeats, hookRepeats := w.checkCounts()
	t.Logf("TEMPORAL DOWN: %d orders answered 503 with Retry-After (slowest %v), event 503, nothing recorded; API ready %.1fs after restart, resubmitted orders 202 and all delivered %.1fs after restart; repeats %d/%d",
		n, slowest.Round(time.Millisecond), ready.Seconds(), time.Since(t0).Seconds(), repeats, hookRepeats)
}

// postEvent posts one printer event.
func (s *stack) postEvent(key, orderID, body string) (int, map[string]any, http.Header) {
	return s.do("POST", "/v1/printer/orders/"+orderID+"/events", map[string]string{"X-API-KEY": key, "Content-Type": "application/json"}, body)
}
