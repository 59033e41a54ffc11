package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/render"
	"orderintake/service"
	"orderintake/workflows"
)

// templateRoutes: rendering a template on trial input, template versions and
// rollback, and the lookup tables templates read.
func (s *Server) templateRoutes(g *gin.RouterGroup) {
	g.POST("/templates/render", s.renderTemplate)
	g.GET("/templates/:id/versions/:version", s.templateVersion)
	g.POST("/templates/:id/rollback", s.rollbackTemplate)
	s.lookupRoutes(g)
}

// renderBody is POST /v1/admin/templates/render. Input is kept raw so that
// JSON integers stay integers (ParseInput), as in a real order.
type renderBody struct {
	Body        *string           `json:"body"`
	TemplateID  string            `json:"templateId"`
	Version     int               `json:"version"`
	Format      string            `json:"format"`
	Kind        string            `json:"kind"`
	CustomerID  string            `json:"customerId"`
	Input       json.RawMessage   `json:"input"`
	ContentType string            `json:"contentType"`
	Headers     map[string]string `json:"headers"`
	Event       string            `json:"event"`
	Strict      *bool             `json:"strict"` // default: the stored template's; false for a body
	// OrderID renders against a real past order instead of input.
	OrderID string `json:"orderId"`
}

// sampleEvent is the event whose documented sample a postback template is
// rendered against when neither input nor event is given: it has tracking.
const sampleEvent = oi.EventShipped

func (s *Server) renderTemplate(c *gin.Context) {
	ctx := c.Request.Context()
	var b renderBody
	if !s.bind(c, &b) {
		return
	}
	if err := b.validate(); err != nil {
		s.fail(c, err)
		return
	}
	tpl, kind, subject, version, err := s.renderSource(ctx, &b)
	if err != nil {
		s.fail(c, err)
		return
	}
	var order *oi.OrderRequest
	if b.OrderID != "" {
		if order, err = s.Store.GetOrderRequest(ctx, b.OrderID); err != nil {
			s.fail(c, refError("orderId", "order", b.OrderID, err))
			return
		}
		if b.CustomerID == "" {
			b.CustomerID = order.CustomerID
		}
	}
	var lookups mapper.Lookups
	var cust *oi.Customer
	if b.CustomerID != "" {
		if cust, err = s.Store.GetCustomer(ctx, b.CustomerID); err != nil {
			s.fail(c, refError("customerId", "customer", b.CustomerID, err))
			return
		}
		if lookups, err = render.Lookups(ctx, s.Store, cust.ID); err != nil {
			s.fail(c, fmt.Errorf("load lookups of %s: %w", cust.ID, err))
			return
		}
	}
	var data map[string]any
	if order != nil {
		data, err = s.orderContext(ctx, order, kind, b.Event, cust)
	} else {
		data, err = b.context(kind, cust)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if b.Strict != nil {
		tpl.Strict = *b.Strict
	}
	r, err := s.Mapper.RenderDetailed(ctx, tpl, data, lookups)
	if err != nil {
		s.fail(c, renderFailure(err, "body", r.Warnings))
		return
	}
	res := RenderOutput{Output: string(r.Output), Warnings: warningList(r.Warnings), Format: string(tpl.Format), Kind: kind,
		Strict: tpl.Strict}
	if version > 0 {
		res.TemplateVersion = &version
	}
	if subject != "" {
		// The subject renders with the same values; a subject change has its
		// own cache entry (the "#subject" id) like in RenderTrigger.
		st := mapper.Template{Format: mapper.FormatText, Body: subject}
		if tpl.ID != "" {
			st.ID, st.Version = tpl.ID+"#subject", tpl.Version
		}
		st.Strict = tpl.Strict
		subj, err := s.Mapper.RenderDetailed(ctx, st, data, lookups)
		if err != nil {
			s.fail(c, renderFailure(err, "subject", subj.Warnings))
			return
		}
		res.Subject = strings.TrimSpace(string(subj.Output))
		res.SubjectWarnings = subj.Warnings
	}
	c.JSON(http.StatusOK, res)
}

func (b *renderBody) validate() error {
	b.TemplateID, b.CustomerID = strings.TrimSpace(b.TemplateID), strings.TrimSpace(b.CustomerID)
	switch {
	case b.Body != nil && b.TemplateID != "":
		return oi.FieldError("templateId", "give either body (a template text) or templateId (a stored template), not both")
	case b.Body == nil && b.TemplateID == "":
		return oi.FieldError("body", "body (a template text) or templateId (a stored template) is required")
	case b.Body != nil && strings.TrimSpace(*b.Body) == "":
		return oi.FieldError("body", "body is empty")
	case b.Version < 0 || (b.Version > 0 && b.TemplateID == ""):
		return oi.FieldError("version", "version is a positive version number of the stored template in templateId")
	}
	if b.Body != nil || b.Format != "" {
		if err := oneOf("format", b.Format, oi.FormatJSON, oi.FormatXML, oi.FormatText); err != nil {
			return err
		}
	}
	if b.Kind != "" {
		if err := oneOf("kind", b.Kind, oi.TemplateKinds...); err != nil {
			return err
		}
	}
	if b.Event != "" {
		if err := oneOf("event", b.Event, oi.Events...); err != nil {
			return err
		}
	}
	if b.OrderID != "" && len(b.Input) > 0 && string(b.Input) != "null" {
		return oi.FieldError("orderId", "give either input or orderId (a real order as input), not both")
	}
	if b.ContentType != "" && !isJSONString(b.Input) {
		return oi.FieldError("input", "with contentType, input is the raw request as one JSON string")
	}
	return nil
}

// renderSource picks the template to render: the body given, or a stored
// template at the version asked for (default: its current one).
func (s *Server) renderSource(ctx context.Context, b *renderBody) (t mapper.Template, kind, subject string, version int, err error) {
	if b.Body != nil {
		kind = b.Kind
		if kind == "" {
			kind = oi.KindIntake
			if b.Event != "" {
				kind = oi.KindWebhook
			}
		}
		return mapper.Template{Format: mapper.Format(b.Format), Body: *b.Body}, kind, "", 0, nil
	}
	cur, err := s.Store.GetTemplate(ctx, b.TemplateID)
	if err != nil {
		return t, "", "", 0, err
	}
	if b.Kind != "" && b.Kind != cur.Kind {
		return t, "", "", 0, oi.FieldError("kind", "template %s is of kind %s, not %s", cur.ID, cur.Kind, b.Kind)
	}
	format, body, subject, version, strict := cur.Format, cur.Body, cur.Subject, cur.Version, cur.Strict
	if b.Version > 0 && b.Version != cur.Version {
		v, err := s.Store.GetTemplateVersion(ctx, cur.ID, b.Version)
		if err != nil {
			return t, "", "", 0, refError("version", "version", strconv.Itoa(b.Version), err)
		}
		format, body, subject, version, strict = v.Format, v.Body, v.Subject, v.Version, v.Strict
	}
	if b.Format != "" {
		format = b.Format // as a trigger's format overrides its template's
	}
	return mapper.Template{ID: cur.ID, Version: version, Format: mapper.Format(format), Body: body, Strict: strict}, cur.Kind, subject, version, nil
}

// context builds what the template sees: an intake/cancel template gets the
// input the way a real order's body arrives; a postback template gets the
// input as the postback context, or the documented sample of the event.
func (b *renderBody) context(kind string, cust *oi.Customer) (map[string]any, error) {
	input, err := b.parseInput()
	if err != nil {
		return nil, err
	}
	if kind == oi.KindIntake || kind == oi.KindCancel {
		headers := map[string][]string{}
		for k, v := range b.Headers {
			headers[k] = []string{v}
		}
		if b.ContentType != "" {
			headers["content-type"] = []string{b.ContentType}
		}
		info := mapper.CustomerInfo{}
		if cust != nil {
			info = mapper.CustomerInfo{ID: cust.ID, Name: cust.Name, ReferenceID: cust.ReferenceID}
		}
		return mapper.IntakeContext(input, headers, info, time.Now()), nil
	}
	if input != nil {
		m, ok := mapper.AsMap(input)
		if !ok {
			return nil, oi.FieldError("input", "a %s template's input is its context: a JSON object like the samples", kind)
		}
		return m, nil
	}
	if kind == oi.KindSubmitResponse || kind == oi.KindCancelResponse {
		// Our answer to an order taken (or canceled), as the sample.
		status, st := 202, oi.StatusAccepted
		if kind == oi.KindCancelResponse {
			status, st = 200, oi.EventCanceled
		}
		return service.ResponseContext(status, &service.AnswerOrder{ID: "ord_sample_0001", OrderReferenceID: "ORD-1001", Status: st,
			Links: map[string]string{"self": "/v1/orders/ord_sample_0001", "hq": "/hq/requests/ord_sample_0001"}}, nil), nil
	}
	event := b.Event
	if event == "" {
		event = sampleEvent
	}
	data, _ := mapper.SamplePostbackContext(event)
	if cust != nil {
		data["customerId"] = cust.ID
	}
	return data, nil
}

// parseInput returns the input value (nil when none was given).
func (b *renderBody) parseInput() (any, error) {
	raw := strings.TrimSpace(string(b.Input))
	if raw == "" || raw == "null" {
		return nil, nil
	}
	body, ctype := []byte(raw), "application/json"
	if b.ContentType != "" {
		var s string
		if err := json.Unmarshal(b.Input, &s); err != nil {
			return nil, oi.FieldError("input", "with contentType, input is the raw request as one JSON string")
		}
		body, ctype = []byte(s), b.ContentType
	}
	v, _, err := mapper.ParseInputOrdered(ctype, body) // mappings in the input's order, as at intake
	if err != nil {
		e := &oi.Error{Code: oi.EINVALID, Field: "input", Message: "the input does not parse: " + err.Error()}
		var ie *mapper.InputError
		if errors.As(err, &ie) && ie.Line > 0 {
			e.Detail = map[string]any{"where": "input", "line": ie.Line, "column": ie.Column}
		}
		return nil, e
	}
	return v, nil
}

func isJSONString(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return strings.HasPrefix(s, `"`)
}

// renderFailure turns a failed render into the answer: a template problem
// (422 with kind, line, column and excerpt), or, when the client went away,
// a timeout nobody will read.
func renderFailure(err error, field string, warnings []mapper.Warning) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return oi.Errorf(oi.ETIMEOUT, "the request ended before the template was rendered")
	}
	e := templateProblem(err)
	e.Field = field
	if len(warnings) > 0 {
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		e.Detail["warnings"] = warnings
	}
	return e
}

// warningList is never null in an answer: an empty list says "nothing to warn about".
func warningList(ws []mapper.Warning) []mapper.Warning {
	if ws == nil {
		return []mapper.Warning{}
	}
	return ws
}

// refError says which field refers to something missing; other errors pass.
func refError(field, what, id string, err error) error {
	if oi.ErrorCode(err) == oi.ENOTFOUND {
		return oi.FieldError(field, "there is no %s %s", what, id)
	}
	return err
}

// templateVersion is one saved version of a template.
func (s *Server) templateVersion(c *gin.Context) {
	v, err := strconv.Atoi(c.Param("version"))
	if err != nil || v < 1 {
		s.fail(c, oi.Errorf(oi.ENOTFOUND, "template versions are numbered 1, 2, ...; there is no version %q", c.Param("version")))
		return
	}
	out, err := s.Store.GetTemplateVersion(c.Request.Context(), c.Param("id"), v)
	s.reply(c, http.StatusOK, out, err)
}

// rollbackTemplate saves a new version whose body (and format and subject)
// are an old version's: history stays append-only, and orders and postbacks
// keep pointing at the version that rendered them.
func (s *Server) rollbackTemplate(c *gin.Context) {
	ctx := c.Request.Context()
	cur, err := s.Store.GetTemplate(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b rollbackBody
	if !s.bind(c, &b) {
		return
	}
	if b.Version < 1 {
		s.fail(c, oi.FieldError("version", "version is required: the number of the version to bring back"))
		return
	}
	old, err := s.Store.GetTemplateVersion(ctx, cur.ID, b.Version)
	if err != nil {
		s.fail(c, refError("version", "version", strconv.Itoa(b.Version), err))
		return
	}
	t := &oi.Template{ID: cur.ID, Name: cur.Name, Kind: cur.Kind, Format: old.Format, Body: old.Body, Subject: old.Subject, Strict: old.Strict}
	if err := s.check(t); err != nil { // the engine may have grown stricter since
		s.fail(c, err)
		return
	}
	out, err := s.Store.UpdateTemplate(ctx, t)
	s.reply(c, http.StatusOK, out, err)
}

// orderContext is what a template sees for a real past order: the order's
// original request as it arrived (intake, cancel), or the postback context
// of one of its events (webhook, email): event, default its latest recorded.
func (s *Server) orderContext(ctx context.Context, o *oi.OrderRequest, kind, event string, cust *oi.Customer) (map[string]any, error) {
	if kind == oi.KindIntake || kind == oi.KindCancel {
		body, _, err := mapper.ParseInputOrdered(o.Original.ContentType, o.Original.Body)
		if err != nil {
			return nil, oi.FieldError("orderId", "order %s's request does not parse (%v): no template ever saw it", o.ID, err)
		}
		info := mapper.CustomerInfo{ID: o.CustomerID}
		if cust != nil {
			info = mapper.CustomerInfo{ID: cust.ID, Name: cust.Name, ReferenceID: cust.ReferenceID}
		}
		return mapper.IntakeContext(body, o.Original.Headers, info, o.ReceivedAt), nil
	}
	evs, err := s.Store.ListOrderEvents(ctx, o.ID)
	if err != nil {
		return nil, fmt.Errorf("load events of %s: %w", o.ID, err)
	}
	ev := workflows.PrinterEvent{EventID: "evt_preview", Status: event, Timestamp: o.ReceivedAt}
	if ev.Status == "" {
		ev.Status = sampleEvent
	}
	for _, e := range evs { // oldest first: the last match is the latest
		if e.Accepted && (event == "" || e.Status == event) {
			ev = workflows.PrinterEvent{EventID: e.EventID, Status: e.Status, Timestamp: e.OccurredAt, Message: e.Message,
				TrackingCode: e.TrackingCode, TrackingURL: e.TrackingURL, CarrierName: e.CarrierName}
		}
	}
	return render.PostbackContext(o, ev), nil
}

// rollbackBody names the version a rollback brings back.
type rollbackBody struct {
	Version int `json:"version"`
}
