package alerts_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"orderintake/alerts"
	"orderintake/internal/pgtest"
	"orderintake/internal/testenv"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is the notifier seam: it keeps what would have been sent, and
// fails while fail is set.
type recorder struct {
	mu      sync.Mutex
	notices []alerts.Notice
	fail    error
}

func (r *recorder) Notify(_ context.Context, _ *store.AlertSettings, _ []byte, n alerts.Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.notices = append(r.notices, n)
	return nil
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notices {
		out = append(out, n.Event+" "+n.Incident.SubjectID+" "+n.Incident.Cause)
	}
	return out
}

func setup(t *testing.T, threshold int) (*alerts.Alerter, *recorder, *store.Store) {
	t.Helper()
	st := testenv.Store(t)
	if err := st.PutAlertSettings(context.Background(), &store.AlertSettings{Enabled: true, WebhookURL: "https://ops.example/alerts",
		TriggerFailures: threshold, PrinterFailures: threshold}, nil); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	return &alerts.Alerter{Store: st, Notifier: rec, PublicURL: "https://oi.example"}, rec, st
}

func fail(id string) alerts.Outcome {
	return alerts.Outcome{Kind: store.AlertTrigger, SubjectID: id, Name: "shipped hook", Reason: "receiver answered 500", Link: "/hq/postbacks/pb_1"}
}

func ok(id string) alerts.Outcome {
	return alerts.Outcome{Kind: store.AlertTrigger, SubjectID: id, OK: true}
}

func record(t *testing.T, a *alerts.Alerter, outs ...alerts.Outcome) {
	t.Helper()
	for _, o := range outs {
		if err := a.Record(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// N failures in a row open one incident, notified once however long it
// lasts; a success recovers it, announced once; the next run is a new one.
func TestIncidentOpensOnceAndRecoversOnce(t *testing.T) {
	a, rec, st := setup(t, 3)
	record(t, a, fail("trg_1"), fail("trg_1"))
	if ev := rec.events(); len(ev) != 0 {
		t.Fatalf("notified before the threshold: %v", ev)
	}
	record(t, a, ok("trg_1"), fail("trg_1"), fail("trg_1")) // a success in between resets the count
	if ev := rec.events(); len(ev) != 0 {
		t.Fatalf("a success did not reset the streak: %v", ev)
	}
	record(t, a, fail("trg_1"), fail("trg_1"), fail("trg_1"))
	want := []string{"incident.opened trg_1 consecutive"}
	if ev := rec.events(); !equal(ev, want) {
		t.Fatalf("notices = %v, want %v", ev, want)
	}
	n := rec.notices[0]
	if n.Incident.Link != "https://oi.example/hq/postbacks/pb_1" || n.Incident.Reason != "3 failures in a row; the last: receiver answered 500" ||
		n.Subject != "[orderintake] failing: trigger shipped hook (trg_1)" {
		t.Errorf("notice = %+v", n)
	}
	record(t, a, ok("trg_1"), ok("trg_1"))
	want = append(want, "incident.recovered trg_1 consecutive")
	if ev := rec.events(); !equal(ev, want) {
		t.Fatalf("notices = %v, want %v", ev, want)
	}
	record(t, a, fail("trg_1"), fail("trg_1"), fail("trg_1"))
	want = append(want, "incident.opened trg_1 consecutive")
	if ev := rec.events(); !equal(ev, want) {
		t.Fatalf("notices = %v, want %v", ev, want)
	}
	if rec.notices[2].Incident.ID == rec.notices[0].Incident.ID {
		t.Error("the second run of failures reused the recovered incident")
	}
	list, err := st.ListIncidents(context.Background(), false, 10)
	if err != nil || len(list) != 2 || list[0].RecoveredAt != nil || list[1].RecoveredAt == nil || list[1].RecoveryNotifiedAt == nil {
		t.Fatalf("incidents = %+v, %v; want the open one first, then the recovered and announced one", list, err)
	}
}

// A 410 (trigger disabled) or an exhausted schedule opens an incident at
// the first failure; replicas reporting the same failure together notify once.
func TestDisabledOpensAtOnceAndOnlyOnce(t *testing.T) {
	a, rec, _ := setup(t, 5)
	gone := fail("trg_2")
	gone.Cause, gone.Reason = store.CauseDisabled, "receiver answered 410 Gone: trigger disabled"
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- a.Record(context.Background(), gone) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"incident.opened trg_2 disabled"}
	if ev := rec.events(); !equal(ev, want) {
		t.Fatalf("notices = %v, want one %v", ev, want)
	}
	ex := fail("trg_3")
	ex.Cause = store.CauseExhausted
	record(t, a, ex)
	if ev := rec.events(); len(ev) != 2 || ev[1] != "incident.opened trg_3 exhausted" {
		t.Fatalf("notices = %v", ev)
	}
}

// A notice that could not be sent is kept as the incident's notify error
// and sent by the next failure's report, once.
func TestFailedNoticeIsRetriedOnce(t *testing.T) {
	a, rec, st := setup(t, 1)
	rec.fail = errors.New("smtp: connection refused")
	if err := a.Record(context.Background(), fail("trg_4")); err == nil {
		t.Fatal("a notice that failed was not reported to the caller")
	}
	open, err := st.ListIncidents(context.Background(), true, 10)
	if err != nil || len(open) != 1 || open[0].NotifiedAt != nil || open[0].NotifyError != "smtp: connection refused" {
		t.Fatalf("open incidents = %+v, %v", open, err)
	}
	rec.fail = nil
	record(t, a, fail("trg_4"), fail("trg_4"))
	if ev := rec.events(); !equal(ev, []string{"incident.opened trg_4 consecutive"}) {
		t.Fatalf("notices = %v, want the opening sent once after the failure", ev)
	}
}

// Off (or without recipients), incidents are still kept, nobody is told.
func TestAlertsOffKeepIncidents(t *testing.T) {
	a, rec, st := setup(t, 1)
	if err := st.PutAlertSettings(context.Background(), &store.AlertSettings{Enabled: false, TriggerFailures: 1, PrinterFailures: 1}, nil); err != nil {
		t.Fatal(err)
	}
	record(t, a, alerts.Outcome{Kind: store.AlertPrinter, SubjectID: "prn_1", Reason: "printer answered 503"})
	if ev := rec.events(); len(ev) != 0 {
		t.Fatalf("notified while off: %v", ev)
	}
	open, err := st.ListIncidents(context.Background(), true, 10)
	if err != nil || len(open) != 1 || open[0].SubjectKind != store.AlertPrinter || open[0].NotifyError == "" {
		t.Fatalf("open incidents = %+v, %v", open, err)
	}
}
