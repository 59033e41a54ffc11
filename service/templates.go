package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/render"
	"orderintake/workflows"
)

// TemplateInput creates a template or saves a new version of one.
type TemplateInput struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Format  string `json:"format"`
	Body    string `json:"body"`
	Subject string `json:"subject"`
	Strict  *bool  `json:"strict"` // omitted on update: the current version's
}

// checkTemplate validates a template body and compiles it, so a syntax
// error is refused at save time with its line and column.
func (a *Admin) checkTemplate(t *oi.Template) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := a.Mapper.Check(mapper.Template{Format: mapper.Format(t.Format), Body: t.Body}); err != nil {
		return TemplateProblem(err)
	}
	if t.Subject != "" {
		if err := a.Mapper.Check(mapper.Template{Format: mapper.FormatText, Body: t.Subject}); err != nil {
			e := TemplateProblem(err)
			e.Field = "subject"
			return e
		}
	}
	return nil
}

// TemplateProblem turns a render error into an error with its position
// (code ETEMPLATE, field body; kind, where, line, column and excerpt).
func TemplateProblem(err error) *oi.Error {
	e := &oi.Error{Code: oi.ETEMPLATE, Field: "body", Message: err.Error()}
	if me, ok := err.(*mapper.Error); ok {
		e.Message = me.Message
		e.Detail = map[string]any{"kind": me.Kind, "where": me.Where, "line": me.Line, "column": me.Column, "excerpt": me.Excerpt}
	}
	return e
}

func fieldTemplateError(field string, err error) error {
	e := &oi.Error{Code: oi.EINVALID, Field: field, Message: field + ": " + err.Error()}
	var me *mapper.Error
	if errors.As(err, &me) {
		e.Message = field + ": " + me.Message
		e.Detail = map[string]any{"line": me.Line, "column": me.Column}
	}
	return e
}

// CreateTemplate validates, compiles and stores a template (version 1).
func (a *Admin) CreateTemplate(ctx context.Context, b TemplateInput) (*oi.Template, error) {
	t := &oi.Template{ID: oi.NewID("tpl"), Name: b.Name, Kind: b.Kind, Format: b.Format, Body: b.Body, Subject: b.Subject,
		Strict: b.Strict != nil && *b.Strict}
	if err := a.checkTemplate(t); err != nil {
		return nil, err
	}
	return a.Store.CreateTemplate(ctx, t)
}

// Templates lists every template at its current version.
func (a *Admin) Templates(ctx context.Context) ([]*oi.Template, error) {
	return a.Store.ListTemplates(ctx)
}

// Template is one template at its current version.
func (a *Admin) Template(ctx context.Context, id string) (*oi.Template, error) {
	return a.Store.GetTemplate(ctx, id)
}

// UpdateTemplate saves b as the template's new version; its kind cannot
// change.
func (a *Admin) UpdateTemplate(ctx context.Context, id string, b TemplateInput) (*oi.Template, error) {
	cur, err := a.Store.GetTemplate(ctx, id)
	if err != nil {
		return nil, err
	}
	if b.Kind == "" {
		b.Kind = cur.Kind
	}
	if b.Kind != cur.Kind {
		return nil, oi.FieldError("kind", "a template's kind cannot change (it is %s)", cur.Kind)
	}
	t := &oi.Template{ID: cur.ID, Name: b.Name, Kind: cur.Kind, Format: b.Format, Body: b.Body, Subject: b.Subject, Strict: cur.Strict}
	if b.Strict != nil {
		t.Strict = *b.Strict
	}
	if err := a.checkTemplate(t); err != nil {
		return nil, err
	}
	return a.Store.UpdateTemplate(ctx, t)
}

// TemplateVersions lists a template's saved versions, newest first.
func (a *Admin) TemplateVersions(ctx context.Context, id string) ([]*oi.TemplateVersion, error) {
	return a.Store.ListTemplateVersions(ctx, id)
}

// TemplateVersion is one saved version of a template.
func (a *Admin) TemplateVersion(ctx context.Context, id string, version int) (*oi.TemplateVersion, error) {
	return a.Store.GetTemplateVersion(ctx, id, version)
}

// RollbackInput names the version a rollback brings back.
type RollbackInput struct {
	Version int `json:"version"`
}

// RollbackTemplate saves a new version whose body (and format and subject)
// are an old version's: history stays append-only, and orders and
// postbacks keep pointing at the version that rendered them.
func (a *Admin) RollbackTemplate(ctx context.Context, id string, version int) (*oi.Template, error) {
	cur, err := a.Store.GetTemplate(ctx, id)
	if err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, oi.FieldError("version", "version is required: the number of the version to bring back")
	}
	old, err := a.Store.GetTemplateVersion(ctx, cur.ID, version)
	if err != nil {
		return nil, RefError("version", "version", strconv.Itoa(version), err)
	}
	t := &oi.Template{ID: cur.ID, Name: cur.Name, Kind: cur.Kind, Format: old.Format, Body: old.Body, Subject: old.Subject, Strict: old.Strict}
	if err := a.checkTemplate(t); err != nil { // the engine may have grown stricter since
		return nil, err
	}
	return a.Store.UpdateTemplate(ctx, t)
}

// ---- rendering on trial input

// RenderInput renders a template text or a stored template over an input,
// the documented sample of an event, or a real past order. Input is kept
// raw so that JSON integers stay integers (ParseInput), as in a real order.
type RenderInput struct {
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

// RenderOutput is a template rendered over a sample input.
type RenderOutput struct {
	Output          string           `json:"output"`
	Warnings        []mapper.Warning `json:"warnings"`
	Format          string           `json:"format"`
	Kind            string           `json:"kind"`
	Strict          bool             `json:"strict"`
	TemplateVersion *int             `json:"templateVersion"`
	Subject         string           `json:"subject,omitempty"`
	SubjectWarnings []mapper.Warning `json:"subjectWarnings,omitempty"`
}

// SampleEvent is the event whose documented sample a postback template is
// rendered against when neither input nor event is given: it has tracking.
const SampleEvent = oi.EventShipped

// Render renders b. A template that fails is an ETEMPLATE error with its
// kind, line, column and excerpt (and the warnings so far).
func (a *Admin) Render(ctx context.Context, b RenderInput) (*RenderOutput, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	tpl, kind, subject, version, err := a.renderSource(ctx, &b)
	if err != nil {
		return nil, err
	}
	var order *oi.OrderRequest
	if b.OrderID != "" {
		if order, err = a.Store.GetOrderRequest(ctx, b.OrderID); err != nil {
			return nil, RefError("orderId", "order", b.OrderID, err)
		}
		if b.CustomerID == "" {
			b.CustomerID = order.CustomerID
		}
	}
	var lookups mapper.Lookups
	var cust *oi.Customer
	if b.CustomerID != "" {
		if cust, err = a.Store.GetCustomer(ctx, b.CustomerID); err != nil {
			return nil, RefError("customerId", "customer", b.CustomerID, err)
		}
		if lookups, err = render.Lookups(ctx, a.Store, cust.ID); err != nil {
			return nil, fmt.Errorf("load lookups of %s: %w", cust.ID, err)
		}
	}
	var data map[string]any
	if order != nil {
		data, err = a.orderContext(ctx, order, kind, b.Event, cust)
	} else {
		data, err = b.context(kind, cust)
	}
	if err != nil {
		return nil, err
	}
	if b.Strict != nil {
		tpl.Strict = *b.Strict
	}
	r, err := a.Mapper.RenderDetailed(ctx, tpl, data, lookups)
	if err != nil {
		return nil, renderFailure(err, "body", r.Warnings)
	}
	res := &RenderOutput{Output: string(r.Output), Warnings: warningList(r.Warnings), Format: string(tpl.Format), Kind: kind,
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
		subj, err := a.Mapper.RenderDetailed(ctx, st, data, lookups)
		if err != nil {
			return nil, renderFailure(err, "subject", subj.Warnings)
		}
		res.Subject = strings.TrimSpace(string(subj.Output))
		res.SubjectWarnings = subj.Warnings
	}
	return res, nil
}

func (b *RenderInput) validate() error {
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
		if err := OneOf("format", b.Format, oi.FormatJSON, oi.FormatXML, oi.FormatText); err != nil {
			return err
		}
	}
	if b.Kind != "" {
		if err := OneOf("kind", b.Kind, oi.TemplateKinds...); err != nil {
			return err
		}
	}
	if b.Event != "" {
		if err := OneOf("event", b.Event, oi.Events...); err != nil {
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
func (a *Admin) renderSource(ctx context.Context, b *RenderInput) (t mapper.Template, kind, subject string, version int, err error) {
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
	cur, err := a.Store.GetTemplate(ctx, b.TemplateID)
	if err != nil {
		return t, "", "", 0, err
	}
	if b.Kind != "" && b.Kind != cur.Kind {
		return t, "", "", 0, oi.FieldError("kind", "template %s is of kind %s, not %s", cur.ID, cur.Kind, b.Kind)
	}
	format, body, subject, version, strict := cur.Format, cur.Body, cur.Subject, cur.Version, cur.Strict
	if b.Version > 0 && b.Version != cur.Version {
		v, err := a.Store.GetTemplateVersion(ctx, cur.ID, b.Version)
		if err != nil {
			return t, "", "", 0, RefError("version", "version", strconv.Itoa(b.Version), err)
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
func (b *RenderInput) context(kind string, cust *oi.Customer) (map[string]any, error) {
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
		return ResponseContext(status, &AnswerOrder{ID: "ord_sample_0001", OrderReferenceID: "ORD-1001", Status: st,
			Links: map[string]string{"self": "/v1/orders/ord_sample_0001", "hq": "/hq/requests/ord_sample_0001"}}, nil), nil
	}
	event := b.Event
	if event == "" {
		event = SampleEvent
	}
	data, _ := mapper.SamplePostbackContext(event)
	if cust != nil {
		data["customerId"] = cust.ID
	}
	return data, nil
}

// parseInput returns the input value (nil when none was given).
func (b *RenderInput) parseInput() (any, error) {
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
	e := TemplateProblem(err)
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

// orderContext is what a template sees for a real past order: the order's
// original request as it arrived (intake, cancel), or the postback context
// of one of its events (webhook, email): event, default its latest recorded.
func (a *Admin) orderContext(ctx context.Context, o *oi.OrderRequest, kind, event string, cust *oi.Customer) (map[string]any, error) {
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
	evs, err := a.Store.ListOrderEvents(ctx, o.ID)
	if err != nil {
		return nil, fmt.Errorf("load events of %s: %w", o.ID, err)
	}
	ev := workflows.PrinterEvent{EventID: "evt_preview", Status: event, Timestamp: o.ReceivedAt}
	if ev.Status == "" {
		ev.Status = SampleEvent
	}
	for _, e := range evs { // oldest first: the last match is the latest
		if e.Accepted && (event == "" || e.Status == event) {
			ev = workflows.PrinterEvent{EventID: e.EventID, Status: e.Status, Timestamp: e.OccurredAt, Message: e.Message,
				TrackingCode: e.TrackingCode, TrackingURL: e.TrackingURL, CarrierName: e.CarrierName}
		}
	}
	return render.PostbackContext(o, ev), nil
}
