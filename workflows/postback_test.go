package workflows_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/render"
	"orderintake/store"
	"orderintake/worker"
	"orderintake/workflows"
)

// These tests run postbacks through OrderWorkflow and PostbackDeliveryWorkflow
// on Temporal's test environment, with the real activities, a real Postgres
// and real HTTP receivers on loopback. Attempt times are recorded on the
// test environment's clock, which skips ahead through retry delays, so the
// three-day schedule runs in well under a second.

// answer is one scripted response of a hookReceiver.
type answer struct {
	status int
	header map[string]string
	delay  time.Duration // before answering (timeouts)
}

type hookRequest struct {
	header http.Header
	body   []byte
	at     time.Time // on the test clock
}

// hookReceiver is a webhook receiver on loopback that answers with script in
// turn, then with last, and records each request at the test clock's time.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	script []answer
	last   answer
	clock  func() time.Time
}

func newHookReceiver(t *testing.T, script ...answer) *hookReceiver {
	h := &hookReceiver{script: script, last: answer{status: http.StatusOK}, clock: time.Now}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{header: r.Header.Clone(), body: body, at: h.clock()})
		a := h.last
		if n := len(h.got); n <= len(h.script) {
			a = h.script[n-1]
		}
		h.mu.Unlock()
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// events returns the "event" of each JSON body received.
func (h *hookReceiver) events() []string {
	var out []string
	for _, r := range h.requests() {
		out = append(out, between(string(r.body), `"event": "`, `"`))
	}
	return out
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// pbWorld is a database with a customer, its printer and a webhook template.
type pbWorld struct {
	st      *store.Store
	sealer  *seal.Sealer
	f       *testenv.Fixture
	printer *testenv.Server
	hookTpl string
}

func newPBWorld(t *testing.T) *pbWorld {
	st := testenv.Store(t)
	w := &pbWorld{st: st, sealer: testenv.Sealer(t), printer: testenv.NewServer(t)}
	w.printer.Default = http.StatusCreated
	w.f = testenv.Seed(t, st, w.sealer, w.printer.URL, "")
	tpl, err := st.CreateTemplate(context.Background(), &oi.Template{ID: oi.NewID("tpl"), Name: "hook", Kind: oi.KindWebhook,
		Format: oi.FormatJSON, Body: testenv.WebhookJSON})
	if err != nil {
		t.Fatal(err)
	}
	w.hookTpl = tpl.ID
	return w
}

// trigger adds an active webhook trigger of the customer.
func (w *pbWorld) trigger(t *testing.T, event, url string, retry bool) *oi.Trigger {
	tr, err := w.st.CreateTrigger(context.Background(), &oi.Trigger{ID: oi.NewID("trg"), CustomerID: w.f.Customer.ID,
		Name: event + " hook", Event: event, Method: oi.MethodURL, TemplateID: w.hookTpl, Format: oi.FormatJSON, URL: url,
		RetryOnFailure: retry, Status: oi.TriggerActive}, w.sealer.Seal(w.f.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// env is a fresh test environment running the real activities, whose
// attempt records use its clock; receivers record on the same clock.
func (w *pbWorld) env(t *testing.T, guard *delivery.Guard, webhookTimeout time.Duration, receivers ...*hookReceiver) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetTestTimeout(60 * time.Second)
	acts := worker.Activities(worker.Config{Store: w.st, Mapper: mapper.NewEngine(mapper.Options{}), Sealer: w.sealer, Guard: guard})
	acts.Webhooks = delivery.NewWebhookSender(guard, webhookTimeout)
	acts.Now = env.Now
	worker.Register(env, acts)
	for _, r := range receivers {
		r.mu.Lock()
		r.clock = env.Now
		r.mu.Unlock()
	}
	return env
}

// orderInput is a one-item JSON order of the world's customer.
func (w *pbWorld) orderInput(ref string) workflows.OrderInput {
	body := `{"orderReferenceId": "` + ref + `", "items": [{"sku": "POSTER", "quantity": 2}]}`
	return workflows.OrderInput{OrderID: oi.OrderID(w.f.Customer.ID, ref), CustomerID: w.f.Customer.ID, Key: ref,
		OrderReferenceID: ref, ReceivedAt: time.Now().UTC(), ContentType: "application/json", Body: []byte(body)}
}

// testPostback renders and stores a postback of tr against the event's
// sample, as "send test" does, with the trigger's retry setting.
func (w *pbWorld) testPostback(t *testing.T, tr *oi.Trigger) *oi.Postback {
	ctx := context.Background()
	p, err := render.TestPostback(ctx, w.st, mapper.NewEngine(mapper.Options{}), tr, tr.Event)
	if err != nil {
		t.Fatal(err)
	}
	p.RetryOnFailure = tr.RetryOnFailure
	stored, err := w.st.InsertTestPostback(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func runSeries(t *testing.T, env *testsuite.TestWorkflowEnvironment, postbackID string, series int) workflows.DeliverResult {
	t.Helper()
	env.ExecuteWorkflow(workflows.PostbackDeliveryWorkflow, workflows.PostbackDeliveryInput{PostbackID: postbackID, Series: series})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("delivery workflow completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res workflows.DeliverResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func (w *pbWorld) postback(t *testing.T, id string) (*oi.Postback, []*oi.PostbackAttempt) {
	t.Helper()
	p, err := w.st.GetPostback(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	atts, err := w.st.ListAttempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p, atts
}

func (w *pbWorld) orderPostbacks(t *testing.T, orderID string) []*oi.Postback {
	t.Helper()
	pbs, err := w.st.ListOrderPostbacks(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return pbs
}

func runOrder(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.OrderInput, evs ...workflows.PrinterEvent) {
	t.Helper()
	env.RegisterDelayedCallback(func() {
		for _, e := range evs {
			env.SignalWorkflow(workflows.SignalPrinterEvent, e)
		}
	}, time.Hour)
	env.ExecuteWorkflow(workflows.OrderWorkflow, in)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("order workflow completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
}

func TestReceiverAlways503ExhaustsTheScheduleInTenAttempts(t *testing.T) {
	w := newPBWorld(t)
	recv := newHookReceiver(t)
	recv.last = answer{status: http.StatusServiceUnavailable}
	w.trigger(t, oi.EventDelivered, recv.URL, true)
	env := w.env(t, &delivery.Guard{AllowPrivate: true}, 0, recv)
	in := w.orderInput("R-503")
	runOrder(t, env, in, ev("d1", oi.EventDelivered))

	pbs := w.orderPostbacks(t, in.OrderID)
	if len(pbs) != 1 {
		t.Fatalf("%d postbacks, want 1", len(pbs))
	}
	p, atts := w.postback(t, pbs[0].ID)
	if p.Status != oi.PostbackExhausted || p.Attempts != 10 || p.NextAttemptAt != nil || !strings.Contains(p.StatusReason, "10 attempts") {
		t.Fatalf("postback status=%s attempts=%d next=%v reason=%q, want exhausted after 10", p.Status, p.Attempts, p.NextAttemptAt, p.StatusReason)
	}
	if n := len(recv.requests()); n != 10 {
		t.Fatalf("receiver got %d requests, want exactly 10", n)
	}
	for i, r := range recv.requests() {
		if id := r.header.Get("webhook-id"); id != p.ID {
			t.Fatalf("request %d webhook-id = %q, want the postback id %q on every retry", i+1, id, p.ID)
		}
	}
	if len(atts) != 10 {
		t.Fatalf("%d attempts recorded, want 10", len(atts))
	}
	jittered := false
	for i, a := range atts {
		if a.Attempt != i+1 || a.Trigger != "scheduled" || a.Outcome != "retry" || a.ResponseStatus != 503 || a.ErrorKind != "http" {
			t.Fatalf("attempt %d = #%d %s %s %d %q", i+1, a.Attempt, a.Trigger, a.Outcome, a.ResponseStatus, a.ErrorKind)
		}
		if i == len(atts)-1 {
			if a.NextAttemptAt != nil {
				t.Fatalf("the last attempt announces a next one at %v", a.NextAttemptAt)
			}
			break
		}
		gap := atts[i+1].StartedAt.Sub(a.StartedAt)
		step := delivery.Schedule[i+1]
		lo, hi := time.Duration(float64(step)*0.8), time.Duration(float64(step)*1.2)
		if gap < lo || gap > hi {
			t.Errorf("attempt %d came %v after attempt %d, want %v ±20%% [%v, %v]", i+2, gap, i+1, step, lo, hi)
		}
		if gap != step {
			jittered = true
		}
		if a.NextAttemptAt == nil || a.NextAttemptAt.Sub(atts[i+1].StartedAt).Abs() > time.Millisecond {
			t.Errorf("attempt %d announced the next at %v; it started at %v", i+1, a.NextAttemptAt, atts[i+1].StartedAt)
		}
	}
	if !jittered {
		t.Error("every delay is exactly the schedule's step: no jitter")
	}
	if total := atts[9].StartedAt.Sub(atts[0].StartedAt); total < 60*time.Hour || total > 100*time.Hour {
		t.Errorf("the schedule took %v, want about three days", total)
	}
}

func TestRetryOffMakesOneAttempt(t *testing.T) {
	w := newPBWorld(t)
	recv := newHookReceiver(t)
	recv.last = answer{status: http.StatusServiceUnavailable}
	w.trigger(t, oi.EventDelivered, recv.URL, false)
	env := w.env(t, &delivery.Guard{AllowPrivate: true}, 0, recv)
	in := w.orderInput("R-NORETRY")
	runOrder(t, env, in, ev("d1", oi.EventDelivered))

	pbs := w.orderPostbacks(t, in.OrderID)
	p, atts := w.postback(t, pbs[0].ID)
	if p.Status != oi.PostbackFailed || len(atts) != 1 || atts[0].Outcome != "retry" || atts[0].NextAttemptAt != nil {
		t.Fatalf("postback %s with %d attempts (%+v), want failed after one", p.Status, len(atts), atts)
	}
	if n := len(recv.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
}

// A destination that fails keeps its own events in order and delays no
// other destination.
func TestFailingDestinationDelaysOnlyItself(t *testing.T) {
	w := newPBWorld(t)
	slow := newHookReceiver(t, answer{status: 503}, answer{status: 503}, answer{status: 503})
	fast := newHookReceiver(t)
	for _, e := range []string{oi.EventReceived, oi.EventShipped} {
		w.trigger(t, e, slow.URL, true)
		w.trigger(t, e, fast.URL, true)
	}
	env := w.env(t, &delivery.Guard{AllowPrivate: true}, 0, slow, fast)
	in := w.orderInput("R-ORDER")
	runOrder(t, env, in, ev("e1", oi.EventReceived), ev("e2", oi.EventShipped), ev("e3", oi.EventDelivered))

	if got := strings.Join(fast.events(), ","); got != "received,shipped" {
		t.Fatalf("healthy destination got %s", got)
	}
	if got := strings.Join(slow.events(), ","); got != "received,received,received,received,shipped" {
		t.Fatalf("failing destination got %s, want received (3 failures, then delivered) before shipped", got)
	}
	sr, fr := slow.requests(), fast.requests()
	// The three retries after 503, 503, 503 follow the schedule's steps
	// 2-4 (5 s, 5 min, 30 min), each with its own random ±20 % jitter. The
	// bound is checked per step: their sum may be as short as 28m04s.
	for i := 1; i <= 3; i++ {
		gap, step := sr[i].at.Sub(sr[i-1].at), delivery.Schedule[i]
		if lo, hi := time.Duration(float64(step)*0.8), time.Duration(float64(step)*1.2); gap < lo || gap > hi {
			t.Fatalf("the failing destination's retry %d came %v after the previous attempt, want %v ±20%% [%v, %v]", i, gap, step, lo, hi)
		}
	}
	if fr[1].at.After(sr[1].at) {
		t.Fatalf("the healthy destination got shipped at %v, after the failing one's first retry at %v", fr[1].at, sr[1].at)
	}
	if sr[4].at.Sub(sr[3].at) > time.Second {
		t.Fatalf("shipped reached the failing destination at %v, want right after received was delivered at %v", sr[4].at, sr[3].at)
	}
	for _, p := range w.orderPostbacks(t, in.OrderID) {
		if p.Status != oi.PostbackDelivered {
			t.Fatalf("postback %s to %s is %s", p.Event, p.Destination, p.Status)
		}
	}
}

// Each HTTP outcome is recorded on the postback and its attempts; the
// delivery client's own classification is tested in package delivery.
func TestWebhookOutcomesAreRecorded(t *testing.T) {
	w := newPBWorld(t)
	allow := &delivery.Guard{AllowPrivate: true}
	type want struct {
		status   string
		attempts int
		kinds    string // errorKind of each attempt
	}
	cases := []struct {
		name    string
		script  []answer
		retry   bool
		want    want
		timeout time.Duration // of the webhook client; 0: the product's 15 s
	}{
		{"400 is permanent", []answer{{status: 400}}, true, want{oi.PostbackFailed, 1, "http"}, 0},
		{"408 is retried", []answer{{status: 408}}, true, want{oi.PostbackDelivered, 2, "http,"}, 0},
		{"409 is retried", []answer{{status: 409}}, true, want{oi.PostbackDelivered, 2, "http,"}, 0},
		{"425 is retried", []answer{{status: 425}}, true, want{oi.PostbackDelivered, 2, "http,"}, 0},
		{"429 is retried", []answer{{status: 429}}, true, want{oi.PostbackDelivered, 2, "http,"}, 0},
		{"500 is retried", []answer{{status: 500}, {status: 502}}, true, want{oi.PostbackDelivered, 3, "http,http,"}, 0},
		{"redirect is not followed", []answer{{status: 302, header: map[string]string{"Location": "http://127.0.0.1:1/elsewhere"}}}, true, want{oi.PostbackFailed, 1, "http"}, 0},
		{"abort-message stops retries", []answer{{status: 503, header: map[string]string{"Webhook-Delivery": "abort-message"}}}, true, want{oi.PostbackAborted, 1, "http"}, 0},
		{"slow receiver times out, then answers", []answer{{status: 200, delay: 5 * time.Second}}, true, want{oi.PostbackDelivered, 2, "timeout,"}, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recv := newHookReceiver(t, tc.script...)
			p := w.testPostback(t, w.trigger(t, oi.EventShipped, recv.URL, tc.retry))
			res := runSeries(t, w.env(t, allow, tc.timeout, recv), p.ID, 1)
			p, atts := w.postback(t, p.ID)
			var kinds []string
			for _, a := range atts {
				kinds = append(kinds, a.ErrorKind)
				if a.Trigger != "manual" {
					t.Errorf("attempt %d of a test postback recorded as %s", a.Attempt, a.Trigger)
				}
			}
			if p.Status != tc.want.status || len(atts) != tc.want.attempts || strings.Join(kinds, ",") != tc.want.kinds ||
				res.Status != p.Status || res.Attempts != len(atts) {
				t.Fatalf("status %s, %d attempts with error kinds %q (workflow result %+v); want %+v (reason %q)",
					p.Status, len(atts), strings.Join(kinds, ","), res, tc.want, p.StatusReason)
			}
			if p.Status != oi.PostbackDelivered && p.StatusReason == "" {
				t.Fatal("a postback that did not land has no reason")
			}
			if n := len(recv.requests()); n != tc.want.attempts {
				t.Fatalf("receiver got %d requests for %d attempts", n, tc.want.attempts)
			}
		})
	}

	t.Run("410 disables the trigger and says why", func(t *testing.T) {
		recv := newHookReceiver(t, answer{status: 410})
		tr := w.trigger(t, oi.EventShipped, recv.URL, true)
		p := w.testPostback(t, tr)
		runSeries(t, w.env(t, allow, 0, recv), p.ID, 1)
		p, atts := w.postback(t, p.ID)
		if p.Status != oi.PostbackFailed || len(atts) != 1 || atts[0].ResponseStatus != 410 || !strings.Contains(p.StatusReason, "410") {
			t.Fatalf("postback %s (%q) after %d attempts", p.Status, p.StatusReason, len(atts))
		}
		tr, err := w.st.GetTrigger(context.Background(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != oi.TriggerDisabled || !strings.Contains(tr.DisabledReason, "410") || !strings.Contains(tr.DisabledReason, p.ID) {
			t.Fatalf("trigger status %s reason %q, want disabled naming the 410 and the postback", tr.Status, tr.DisabledReason)
		}
	})

	t.Run("Retry-After pushes the next attempt", func(t *testing.T) {
		recv := newHookReceiver(t, answer{status: 429, header: map[string]string{"Retry-After": "120"}})
		p := w.testPostback(t, w.trigger(t, oi.EventShipped, recv.URL, true))
		runSeries(t, w.env(t, allow, 0, recv), p.ID, 1)
		p, atts := w.postback(t, p.ID)
		if p.Status != oi.PostbackDelivered || len(atts) != 2 {
			t.Fatalf("postback %s after %d attempts", p.Status, len(atts))
		}
		// The schedule says 5 s (±20 %); the receiver asked for two minutes.
		if gap := atts[1].StartedAt.Sub(atts[0].StartedAt); gap != 120*time.Second {
			t.Fatalf("second attempt %v after the first, want the 120 s the receiver asked for", gap)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String() + "/hook"
		_ = ln.Close()
		p := w.testPostback(t, w.trigger(t, oi.EventShipped, url, false))
		runSeries(t, w.env(t, allow, 0), p.ID, 1)
		p, atts := w.postback(t, p.ID)
		if p.Status != oi.PostbackFailed || len(atts) != 1 || atts[0].ErrorKind != "connect" || atts[0].ResolvedIP != "127.0.0.1" {
			t.Fatalf("postback %s, attempts %+v, want failed with a connect error", p.Status, atts)
		}
	})

	t.Run("private destination blocked by the guard", func(t *testing.T) {
		recv := newHookReceiver(t)
		p := w.testPostback(t, w.trigger(t, oi.EventShipped, recv.URL, true))
		runSeries(t, w.env(t, &delivery.Guard{}, 0, recv), p.ID, 1)
		p, atts := w.postback(t, p.ID)
		if p.Status != oi.PostbackFailed || len(atts) != 1 || atts[0].ErrorKind != "blocked" || atts[0].Outcome != "permanent" {
			t.Fatalf("postback %s (%q), attempts %+v, want failed and blocked", p.Status, p.StatusReason, atts)
		}
		if !strings.Contains(p.StatusReason, "private") {
			t.Fatalf("reason %q does not say the destination is private", p.StatusReason)
		}
		if n := len(recv.requests()); n != 0 {
			t.Fatalf("a blocked destination got %d requests", n)
		}
	})
}

// A resend is a new series: attempts keep their numbers, are recorded as
// manual, and the schedule starts again from its first steps.
func TestResendStartsANewManualSeries(t *testing.T) {
	w := newPBWorld(t)
	ctx := context.Background()
	recv := newHookReceiver(t, answer{status: 503}, answer{status: 503}, answer{status: 400}, answer{status: 503})
	tr := w.trigger(t, oi.EventShipped, recv.URL, true)
	in := w.orderInput("R-RESEND")
	runOrder(t, w.env(t, &delivery.Guard{AllowPrivate: true}, 0, recv), in, ev("s1", oi.EventShipped), ev("d1", oi.EventDelivered))
	pbs := w.orderPostbacks(t, in.OrderID)
	if len(pbs) != 1 || pbs[0].Status != oi.PostbackFailed || pbs[0].Attempts != 3 {
		t.Fatalf("scheduled series ended with %+v, want failed after 3 attempts (503, 503, 400)", pbs)
	}
	id := pbs[0].ID

	r, err := w.st.ClaimResend(ctx, id)
	if err != nil || r.Series != 1 || r.PrevStatus != oi.PostbackFailed || r.CustomerID != tr.CustomerID {
		t.Fatalf("claim = %+v, %v", r, err)
	}
	if _, err := w.st.ClaimResend(ctx, id); oi.ErrorCode(err) != oi.ECONFLICT {
		t.Fatalf("a second claim while the first series runs = %v, want a conflict", err)
	}
	res := runSeries(t, w.env(t, &delivery.Guard{AllowPrivate: true}, 0, recv), id, r.Series)
	p, atts := w.postback(t, id)
	if res.Status != oi.PostbackDelivered || p.Status != oi.PostbackDelivered || len(atts) != 5 {
		t.Fatalf("after the resend: %s with %d attempts", p.Status, len(atts))
	}
	for i, a := range atts {
		want := "scheduled"
		if i >= 3 {
			want = "manual"
		}
		if a.Attempt != i+1 || a.Trigger != want {
			t.Fatalf("attempt %d is #%d %s, want %s", i+1, a.Attempt, a.Trigger, want)
		}
	}
	// The series' second attempt follows the schedule's second step (5 s),
	// not the fourth (30 min) it would be in one long series.
	if gap := atts[4].StartedAt.Sub(atts[3].StartedAt); gap < 4*time.Second || gap > 6*time.Second {
		t.Fatalf("the resend's retry came %v after its first attempt, want 5 s ±20 %%", gap)
	}
	reqs := recv.requests()
	if len(reqs) != 5 || reqs[4].header.Get("webhook-id") != id {
		t.Fatalf("receiver got %d requests; the resend's webhook-id %q, want %q", len(reqs), reqs[len(reqs)-1].header.Get("webhook-id"), id)
	}
	// Delivered can be resent again (the receiver lost it), as series 2.
	if r, err := w.st.ClaimResend(ctx, id); err != nil || r.Series != 2 {
		t.Fatalf("claim after delivery = %+v, %v", r, err)
	}
}
