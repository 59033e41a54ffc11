package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/internal/seal"
	"orderintake/render"
	"orderintake/service"
	"orderintake/store"
)

// postbackRoutes are the operator's postback actions: send a test, resend
// one postback or many, and the SMTP work settings e-mail postbacks use.
func (s *Server) postbackRoutes(g *gin.RouterGroup) {
	g.POST("/triggers/:id/test", s.sendTestPostback)
	g.POST("/postbacks/resend", s.bulkResend)
	g.POST("/postbacks/:id/resend", s.resendPostback)
	g.GET("/settings/smtp", s.getSMTPSettings)
	g.PUT("/settings/smtp", s.putSMTPSettings)
	g.GET("/settings/alerts", s.getAlertSettings)
	g.PUT("/settings/alerts", s.putAlertSettings)
}

// maxBulkResend bounds one bulk resend call; the answer says when more
// matched, and calling again queues the next ones (claimed rows are pending).
const maxBulkResend = 1000

// bindOptional decodes a strict JSON body that may be absent.
func (s *Server) bindOptional(c *gin.Context, v any) bool {
	body, err := readBody(c, 1<<20)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = decodeStrict(body, v)
	}
	if err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// startSeries starts the workflow that runs a claimed attempt series.
func (s *Server) startSeries(ctx context.Context, r *store.Resend) (string, error) {
	return s.workflows.StartDelivery(ctx, r)
}

func (s *Server) seriesAccepted(r *store.Resend, wfID string) SeriesAccepted {
	return SeriesAccepted{ID: r.PostbackID, Status: oi.PostbackPending, Series: r.Series, WorkflowID: wfID,
		Links: SeriesLinks{Self: "/v1/admin/postbacks/" + r.PostbackID, Workflow: s.workflowURL(wfID)}}
}

// testPostbackBody names the event whose sample a test sends (default:
// the trigger's own).
type testPostbackBody struct {
	Event string `json:"event"`
}

// sendTestPostback renders the trigger against the sample of an event (the
// trigger's own by default) and delivers it asynchronously, once. Works for
// triggers in any status: "test" triggers fire only from here.
func (s *Server) sendTestPostback(c *gin.Context) {
	ctx := c.Request.Context()
	t, err := s.Store.GetTrigger(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b testPostbackBody
	if !s.bindOptional(c, &b) {
		return
	}
	event := strings.TrimSpace(b.Event)
	if event == "" {
		event = t.Event
	}
	if err := oneOf("event", event, oi.Events...); err != nil {
		s.fail(c, err)
		return
	}
	p, err := render.TestPostback(ctx, s.Store, s.Mapper, t, event)
	if err != nil {
		s.fail(c, err)
		return
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
		s.fail(c, e)
		return
	}
	stored, err := s.Store.InsertTestPostback(ctx, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	r := &store.Resend{PostbackID: stored.ID, CustomerID: stored.CustomerID, Series: 1, PrevStatus: oi.PostbackFailed,
		PrevReason: "the test could not be queued"}
	wfID, err := s.startSeries(ctx, r)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, TestPostbackAccepted{PostbackView: service.NewPostbackView(stored), Series: r.Series, WorkflowID: wfID,
		Links: SeriesLinks{Self: "/v1/admin/postbacks/" + stored.ID, Workflow: s.workflowURL(wfID)}})
}

// resendPostback starts a new attempt series of one postback (recorded as
// manual; the schedule starts again if the trigger retries on failure).
func (s *Server) resendPostback(c *gin.Context) {
	ctx := c.Request.Context()
	r, err := s.Store.ClaimResend(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	wfID, err := s.startSeries(ctx, r)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, s.seriesAccepted(r, wfID))
}

// resendableStatuses are the statuses a bulk resend may pick; without a
// status it takes the undelivered ones the schedule gave up on.
var (
	resendableStatuses = []string{oi.PostbackFailed, oi.PostbackExhausted, oi.PostbackAborted, oi.PostbackDelivered}
	defaultBulkStatus  = []string{oi.PostbackFailed, oi.PostbackExhausted}
)

// bulkResendBody selects the postbacks a bulk resend sends again.
type bulkResendBody struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Status    string `json:"status"`
	TriggerID string `json:"triggerId"`
}

// bulkResend resends the postbacks created in [from, to) with a status (and
// of one trigger), oldest first, up to maxBulkResend per call.
func (s *Server) bulkResend(c *gin.Context) {
	var b bulkResendBody
	if !s.bind(c, &b) {
		return
	}
	f := store.BulkResend{Statuses: defaultBulkStatus, TriggerID: strings.TrimSpace(b.TriggerID), Limit: maxBulkResend}
	for _, v := range []struct {
		name, raw string
		dst       *time.Time
	}{{"from", b.From, &f.From}, {"to", b.To, &f.To}} {
		name := v.name
		if strings.TrimSpace(v.raw) == "" {
			s.fail(c, oi.FieldError(name, "%s is required: the time window is [from, to), RFC 3339", name))
			return
		}
		t, err := time.Parse(time.RFC3339Nano, v.raw)
		if err != nil {
			s.fail(c, oi.FieldError(name, "%s must be an RFC 3339 time, like 2026-11-22T00:00:00Z", name))
			return
		}
		*v.dst = t
	}
	if !f.To.After(f.From) {
		s.fail(c, oi.FieldError("to", "to must be after from"))
		return
	}
	if b.Status != "" {
		if err := oneOf("status", b.Status, resendableStatuses...); err != nil {
			s.fail(c, err)
			return
		}
		f.Statuses = []string{b.Status}
	}
	ctx := c.Request.Context()
	if f.TriggerID != "" {
		if _, err := s.Store.GetTrigger(ctx, f.TriggerID); err != nil {
			if oi.ErrorCode(err) == oi.ENOTFOUND {
				err = oi.FieldError("triggerId", "trigger %s does not exist", f.TriggerID)
			}
			s.fail(c, err)
			return
		}
	}
	claims, more, err := s.Store.ClaimBulkResend(ctx, f)
	if err != nil {
		s.fail(c, err)
		return
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
			_, err := s.startSeries(ctx, r)
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
		s.fail(c, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the resends could not be queued right now; nothing was sent, try again"})
		return
	}
	c.JSON(http.StatusAccepted, BulkResendAccepted{Queued: queued, More: more, NotQueued: notQueued})
}

// ---- SMTP work settings

func (s *Server) getSMTPSettings(c *gin.Context) {
	st, _, err := s.Store.GetSMTPSettings(c.Request.Context())
	s.reply(c, http.StatusOK, st, err) // the password is never serialised (json:"-")
}

// smtpBody replaces the settings. The password is write-only: absent keeps
// the stored one (unless host, port or username change: then it is dropped),
// "" removes it, anything else replaces it (sealed at rest).
type smtpBody struct {
	FromAddress string  `json:"fromAddress"`
	FromName    string  `json:"fromName"`
	Host        string  `json:"host"`
	Port        *int    `json:"port"`
	Username    string  `json:"username"`
	Password    *string `json:"password"`
	TLS         *bool   `json:"tls"`
	// AllowPlainAuth: AUTH over a connection without TLS (default false).
	AllowPlainAuth bool `json:"allowPlainAuth"`
}

func (b *smtpBody) settings() (*oi.SMTPSettings, error) {
	st := &oi.SMTPSettings{FromAddress: strings.TrimSpace(b.FromAddress), FromName: strings.TrimSpace(b.FromName),
		Host: strings.TrimSpace(b.Host), Port: 587, Username: b.Username, TLS: true, AllowPlainAuth: b.AllowPlainAuth}
	if b.Port != nil {
		st.Port = *b.Port
	}
	if b.TLS != nil {
		st.TLS = *b.TLS
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return st, nil
}

func (s *Server) putSMTPSettings(c *gin.Context) {
	var b smtpBody
	if !s.bind(c, &b) {
		return
	}
	st, err := b.settings()
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var sealed []byte
	if b.Password != nil && *b.Password != "" {
		sealed = s.Sealer.SealFor(*b.Password, seal.SMTPPassword)
	}
	if err := s.Store.PutSMTPSettings(ctx, st, sealed); err != nil {
		s.fail(c, err)
		return
	}
	if b.Password != nil && *b.Password == "" {
		if err := s.Store.ClearSMTPPassword(ctx); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.getSMTPSettings(c)
}
