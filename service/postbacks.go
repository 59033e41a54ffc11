package service

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	oi "orderintake"
	"orderintake/render"
	"orderintake/store"
)

// SeriesLinks point at the postback and the series' workflow.
type SeriesLinks struct {
	Self     string `json:"self"`
	Workflow string `json:"workflow,omitempty"`
}

// SeriesAccepted is a resend, queued as a new attempt series.
type SeriesAccepted struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Series     int         `json:"series"`
	WorkflowID string      `json:"workflowId"`
	Links      SeriesLinks `json:"links"`
}

// TestPostbackAccepted is a test postback, queued once.
type TestPostbackAccepted struct {
	PostbackView
	Series     int         `json:"series"`
	WorkflowID string      `json:"workflowId"`
	Links      SeriesLinks `json:"links"`
}

// BulkResendAccepted says how many resends were queued.
type BulkResendAccepted struct {
	Queued    int      `json:"queued"`
	More      bool     `json:"more"`
	NotQueued []string `json:"notQueued,omitempty"`
}

// TestPostbackInput names the event whose sample a test sends (default:
// the trigger's own).
type TestPostbackInput struct {
	Event string `json:"event"`
}

// BulkResendInput selects the postbacks a bulk resend sends again: created
// in [from, to) (RFC 3339), with a status, of one trigger.
type BulkResendInput struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Status    string `json:"status"`
	TriggerID string `json:"triggerId"`
}

// MaxBulkResend bounds one bulk resend call; the answer says when more
// matched, and calling again queues the next ones (claimed rows are pending).
const MaxBulkResend = 1000

// ResendableStatuses are the statuses a bulk resend may pick; without a
// status it takes the undelivered ones the schedule gave up on.
var (
	ResendableStatuses = []string{oi.PostbackFailed, oi.PostbackExhausted, oi.PostbackAborted, oi.PostbackDelivered}
	defaultBulkStatus  = []string{oi.PostbackFailed, oi.PostbackExhausted}
)

func (a *Admin) links(postbackID, wfID string) SeriesLinks {
	return SeriesLinks{Self: "/v1/admin/postbacks/" + postbackID, Workflow: a.Views.WorkflowURL(wfID)}
}

// TestPostback renders a trigger against the sample of an event (the
// trigger's own when event is "") and delivers it asynchronously, once.
// Works for triggers in any status: "test" triggers fire only from here.
func (a *Admin) TestPostback(ctx context.Context, triggerID, event string) (*TestPostbackAccepted, error) {
	t, err := a.Store.GetTrigger(ctx, triggerID)
	if err != nil {
		return nil, err
	}
	event = strings.TrimSpace(event)
	if event == "" {
		event = t.Event
	}
	if err := OneOf("event", event, oi.Events...); err != nil {
		return nil, err
	}
	p, err := render.TestPostback(ctx, a.Store, a.Mapper, t, event)
	if err != nil {
		return nil, err
	}
	if p.Status == oi.PostbackFailed {
		// Nothing to send: show the operator what to fix, where.
		e := &oi.Error{Code: oi.ETEMPLATE, Field: "templateId", Message: p.StatusReason}
		if len(p.RenderError) > 0 {
			_ = json.Unmarshal(p.RenderError, &e.Detail)
			if msg, ok := e.Detail["message"].(string); ok {
				e.Message = "the trigger's template failed on the " + event + " sample: " + msg
			}
		} else {
			e.Code = oi.EINVALID
		}
		return nil, e
	}
	stored, err := a.Store.InsertTestPostback(ctx, p)
	if err != nil {
		return nil, err
	}
	r := &store.Resend{PostbackID: stored.ID, CustomerID: stored.CustomerID, Series: 1, PrevStatus: oi.PostbackFailed,
		PrevReason: "the test could not be queued"}
	wfID, err := a.Workflows.StartDelivery(ctx, r)
	if err != nil {
		return nil, err
	}
	return &TestPostbackAccepted{PostbackView: NewPostbackView(stored), Series: r.Series, WorkflowID: wfID,
		Links: a.links(stored.ID, wfID)}, nil
}

// Resend starts a new attempt series of one postback (recorded as manual;
// the schedule starts again if the trigger retries on failure).
func (a *Admin) Resend(ctx context.Context, postbackID string) (*SeriesAccepted, error) {
	r, err := a.Store.ClaimResend(ctx, postbackID)
	if err != nil {
		return nil, err
	}
	wfID, err := a.Workflows.StartDelivery(ctx, r)
	if err != nil {
		return nil, err
	}
	return &SeriesAccepted{ID: r.PostbackID, Status: oi.PostbackPending, Series: r.Series, WorkflowID: wfID,
		Links: a.links(r.PostbackID, wfID)}, nil
}

// BulkResend resends the postbacks created in [from, to) with a status (and
// of one trigger), oldest first, up to MaxBulkResend per call.
func (a *Admin) BulkResend(ctx context.Context, b BulkResendInput) (*BulkResendAccepted, error) {
	f := store.BulkResend{Statuses: defaultBulkStatus, TriggerID: strings.TrimSpace(b.TriggerID), Limit: MaxBulkResend}
	for _, v := range []struct {
		name, raw string
		dst       *time.Time
	}{{"from", b.From, &f.From}, {"to", b.To, &f.To}} {
		name := v.name
		if strings.TrimSpace(v.raw) == "" {
			return nil, oi.FieldError(name, "%s is required: the time window is [from, to), RFC 3339", name)
		}
		t, err := time.Parse(time.RFC3339Nano, v.raw)
		if err != nil {
			return nil, oi.FieldError(name, "%s must be an RFC 3339 time, like 2026-11-22T00:00:00Z", name)
		}
		*v.dst = t
	}
	if !f.To.After(f.From) {
		return nil, oi.FieldError("to", "to must be after from")
	}
	if b.Status != "" {
		if err := OneOf("status", b.Status, ResendableStatuses...); err != nil {
			return nil, err
		}
		f.Statuses = []string{b.Status}
	}
	if f.TriggerID != "" {
		if _, err := a.Store.GetTrigger(ctx, f.TriggerID); err != nil {
			if oi.ErrorCode(err) == oi.ENOTFOUND {
				err = oi.FieldError("triggerId", "trigger %s does not exist", f.TriggerID)
			}
			return nil, err
		}
	}
	claims, more, err := a.Store.ClaimBulkResend(ctx, f)
	if err != nil {
		return nil, err
	}
	// Starts are independent round trips to Temporal; a few at a time.
	var (
		mu        sync.Mutex
		queued    int
		notQueued []string
		wg        sync.WaitGroup
		slots     = make(chan struct{}, 8)
	)
	for i := range claims {
		wg.Add(1)
		slots <- struct{}{}
		go func(r *store.Resend) {
			defer func() { <-slots; wg.Done() }()
			_, err := a.Workflows.StartDelivery(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				notQueued = append(notQueued, r.PostbackID)
			} else {
				queued++
			}
		}(&claims[i])
	}
	wg.Wait()
	if queued == 0 && len(notQueued) > 0 {
		return nil, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the resends could not be queued right now; nothing was sent, try again"}
	}
	return &BulkResendAccepted{Queued: queued, More: more, NotQueued: notQueued}, nil
}
