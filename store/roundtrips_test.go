package store_test

import (
	"context"
	"testing"

	"orderintake/internal/testenv"
	"orderintake/store"
)

// A success ends the subject's streak and closes its open incident in one
// call; only the first success after a failure run gets the incident back.
func TestRecordAlertSuccessResetsAndRecoversOnce(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	for range 3 {
		if _, err := st.AddAlertFailure(ctx, store.AlertTrigger, "trg_s", "receiver answered 500"); err != nil {
			t.Fatal(err)
		}
	}
	opened, _, err := st.OpenIncident(ctx, &store.Incident{SubjectKind: store.AlertTrigger, SubjectID: "trg_s",
		Cause: store.CauseConsecutive, Reason: "3 failures in a row"})
	if err != nil {
		t.Fatal(err)
	}
	inc, closed, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s")
	if err != nil || !closed || inc.ID != opened.ID || inc.RecoveredAt == nil {
		t.Fatalf("first success = %+v closed=%v err=%v; want incident %s recovered", inc, closed, err, opened.ID)
	}
	if inc, closed, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s"); err != nil || closed || inc != nil {
		t.Fatalf("second success = %+v closed=%v err=%v; want nothing to recover", inc, closed, err)
	}
	// The streak was reset: the next failure counts from one.
	if n, err := st.AddAlertFailure(ctx, store.AlertTrigger, "trg_s", "again"); err != nil || n != 1 {
		t.Fatalf("failures after the success = %d (%v), want 1", n, err)
	}
	// Another subject's streak is left alone.
	if _, err := st.AddAlertFailure(ctx, store.AlertPrinter, "prn_x", "down"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordAlertSuccess(ctx, store.AlertTrigger, "trg_s"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.AddAlertFailure(ctx, store.AlertPrinter, "prn_x", "down"); err != nil || n != 2 {
		t.Fatalf("printer failures = %d (%v), want 2: a trigger's success reset a printer's streak", n, err)
	}
}
