package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/mapper"
	"orderintake/store"
)

func (s *Server) adminRoutes(g *gin.RouterGroup) {
	g.POST("/customers", s.createCustomer)
	g.GET("/customers", s.listCustomers)
	g.GET("/customers/:id", s.getCustomer)
	g.PATCH("/customers/:id", s.patchCustomer)
	g.POST("/customers/:id/keys", s.createKey(oi.OwnerCustomer))
	g.DELETE("/customers/:id/keys/:keyId", s.revokeKey(oi.OwnerCustomer))

	g.POST("/printers", s.createPrinter)
	g.GET("/printers", s.listPrinters)
	g.GET("/printers/:id", s.getPrinter)
	g.PATCH("/printers/:id", s.patchPrinter)
	g.POST("/printers/:id/keys", s.createKey(oi.OwnerPrinter))
	g.DELETE("/printers/:id/keys/:keyId", s.revokeKey(oi.OwnerPrinter))

	g.POST("/templates", s.createTemplate)
	g.GET("/templates", s.listTemplates)
	g.GET("/templates/:id", s.getTemplate)
	g.PUT("/templates/:id", s.putTemplate)
	g.GET("/templates/:id/versions", s.templateVersions)

	g.POST("/triggers", s.createTrigger)
	g.GET("/triggers", s.listTriggers)
	g.GET("/triggers/:id", s.getTrigger)
	g.PATCH("/triggers/:id", s.patchTrigger)
	g.POST("/triggers/:id/rotate-secret", s.rotateSecret)

	g.GET("/requests", s.listRequests)
	g.GET("/requests/:id", s.getRequest)
	g.POST("/requests/resubmit", s.resubmitWindow)
	g.POST("/requests/:id/resubmit", s.resubmitOrder)
	g.POST("/requests/:id/cancel", s.adminCancel)
	g.GET("/postbacks", s.listPostbacks)
	g.GET("/postbacks/:id", s.getPostback)
	s.hqAdminRoutes(g)
	s.postbackRoutes(g)
	s.templateRoutes(g)
}

// bind decodes a strict JSON body (unknown fields refused) of at most 1 MiB.
func (s *Server) bind(c *gin.Context, v any) bool {
	body, err := readBody(c, 1<<20)
	if err == nil {
		err = decodeStrict(body, v)
	}
	if err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// reply writes v as JSON, or the error as a problem.
func (s *Server) reply(c *gin.Context, status int, v any, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, v)
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return oi.FieldError(field, "%s is required", field)
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return oi.FieldError(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ---- customers

type customerBody struct {
	Name                *string `json:"name"`
	ReferenceID         *string `json:"referenceId"`
	PrinterID           *string `json:"printerId"`
	IntakeTemplateID    *string `json:"intakeTemplateId"`
	CancelTemplateID    *string `json:"cancelTemplateId"`
	ReferenceExpression *string `json:"referenceExpression"`
	// Response templates (kinds submit_response, cancel_response) and the
	// delayed event's span ("48h", "90m", "30s"; "" turns it off).
	SubmitResponseTemplateID *string `json:"submitResponseTemplateId"`
	CancelResponseTemplateID *string `json:"cancelResponseTemplateId"`
	DelayedAfter             *string `json:"delayedAfter"`
}

func (b *customerBody) apply(cu *oi.Customer) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&cu.Name, b.Name)
	set(&cu.ReferenceID, b.ReferenceID)
	set(&cu.PrinterID, b.PrinterID)
	set(&cu.IntakeTemplateID, b.IntakeTemplateID)
	set(&cu.CancelTemplateID, b.CancelTemplateID)
	set(&cu.ReferenceExpression, b.ReferenceExpression)
	set(&cu.SubmitResponseTemplateID, b.SubmitResponseTemplateID)
	set(&cu.CancelResponseTemplateID, b.CancelResponseTemplateID)
	if b.DelayedAfter != nil {
		d, err := oi.ParseDuration(*b.DelayedAfter)
		if err != nil {
			return oi.FieldError("delayedAfter", "delayedAfter: %v", err)
		}
		cu.DelayedAfter = d
	}
	return nil
}

// checkCustomerTemplates makes sure each template a customer names is of
// the kind its field takes (a webhook template is no cancel template).
func (s *Server) checkCustomerTemplates(ctx context.Context, cu *oi.Customer) error {
	for _, f := range []struct{ field, id, kind string }{
		{"intakeTemplateId", cu.IntakeTemplateID, oi.KindIntake},
		{"cancelTemplateId", cu.CancelTemplateID, oi.KindCancel},
		{"submitResponseTemplateId", cu.SubmitResponseTemplateID, oi.KindSubmitResponse},
		{"cancelResponseTemplateId", cu.CancelResponseTemplateID, oi.KindCancelResponse},
	} {
		if f.id == "" || f.kind == oi.KindIntake {
			continue // intake templates were never checked here; kept as it was
		}
		t, err := s.Store.GetTemplate(ctx, f.id)
		if oi.ErrorCode(err) == oi.ENOTFOUND {
			return oi.FieldError(f.field, "template %s does not exist", f.id)
		} else if err != nil {
			return err
		}
		if t.Kind != f.kind {
			return oi.FieldError(f.field, "template %s is a %s template; %s takes a %s template", f.id, t.Kind, f.field, f.kind)
		}
	}
	return nil
}

// checkReferenceExpression compiles a customer's reference expression when it
// is saved: a syntax error is a 422 with its line and column.
func (s *Server) checkReferenceExpression(cu *oi.Customer) error {
	if cu.ReferenceExpression == "" {
		return nil
	}
	if err := s.Mapper.CheckExpression(cu.ReferenceExpression); err != nil {
		e := templateProblem(err)
		e.Code, e.Field = oi.EINVALID, "referenceExpression"
		e.Message = "referenceExpression is not one valid expression (write it like order.ref or {{ order.ref }}): " + e.Message
		return e
	}
	return nil
}

func (s *Server) createCustomer(c *gin.Context) {
	var b customerBody
	if !s.bind(c, &b) {
		return
	}
	cu := &oi.Customer{ID: oi.NewID("cus")}
	if err := firstErr(b.apply(cu), cu.Validate(), s.checkReferenceExpression(cu),
		s.checkCustomerTemplates(c.Request.Context(), cu)); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.CreateCustomer(c.Request.Context(), cu)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listCustomers(c *gin.Context) {
	out, err := s.Store.ListCustomers(c.Request.Context())
	s.reply(c, http.StatusOK, items(out), err)
}

func (s *Server) getCustomer(c *gin.Context) {
	out, err := s.Store.GetCustomer(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) patchCustomer(c *gin.Context) {
	cu, err := s.Store.GetCustomer(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b customerBody
	if !s.bind(c, &b) {
		return
	}
	if err := firstErr(b.apply(cu), cu.Validate(), s.checkReferenceExpression(cu),
		s.checkCustomerTemplates(c.Request.Context(), cu)); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.UpdateCustomer(c.Request.Context(), cu)
	s.keys.forget()
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) createKey(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		if err := s.keyOwnerExists(ctx, kind, c.Param("id")); err != nil {
			s.fail(c, err)
			return
		}
		k, err := s.Store.CreateKey(ctx, kind, c.Param("id"))
		s.reply(c, http.StatusCreated, k, err)
	}
}

func (s *Server) revokeKey(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := s.Store.RevokeKey(c.Request.Context(), kind, c.Param("id"), c.Param("keyId"))
		s.keys.forget()
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// ---- printers

type printerBody struct {
	Name      *string            `json:"name"`
	URL       *string            `json:"url"`
	Format    *string            `json:"format"`
	Headers   *map[string]string `json:"headers"`
	TimeoutMs *int               `json:"timeoutMs"`
	// CancelURL is a template string (https://psp.example/orders/{{ printerOrderId }}/cancel);
	// OrderIDExpression finds the printer's order id in its answer (id, data.order.id).
	CancelURL         *string `json:"cancelUrl"`
	OrderIDExpression *string `json:"orderIdExpression"`
}

func (b *printerBody) apply(p *oi.Printer) error {
	if b.Name != nil {
		p.Name = *b.Name
	}
	if b.URL != nil {
		p.URL = *b.URL
	}
	if b.Format != nil {
		p.Format = *b.Format
	}
	if b.Headers != nil {
		p.Headers = *b.Headers
	}
	if b.TimeoutMs != nil {
		p.TimeoutMs = *b.TimeoutMs
	}
	if b.CancelURL != nil {
		p.CancelURL = strings.TrimSpace(*b.CancelURL)
	}
	if b.OrderIDExpression != nil {
		p.OrderIDExpression = strings.TrimSpace(*b.OrderIDExpression)
	}
	return p.Validate()
}

func (s *Server) createPrinter(c *gin.Context) {
	var b printerBody
	if !s.bind(c, &b) {
		return
	}
	p := &oi.Printer{ID: oi.NewID("prn"), Format: oi.FormatJSON, TimeoutMs: 15000, Headers: map[string]string{}}
	if err := firstErr(b.apply(p), s.checkPrinterExpressions(p)); err != nil {
		s.fail(c, err)
		return
	}
	for k, v := range p.Headers {
		if v == oi.Masked {
			s.fail(c, oi.FieldError("headers", "header %s has the masked value %s: give the real value", k, oi.Masked))
			return
		}
	}
	store.SealPrinterHeaders(s.Sealer, p, p.Headers)
	out, err := s.Store.CreatePrinter(c.Request.Context(), p)
	s.reply(c, http.StatusCreated, maskPrinter(out), err)
}

// maskPrinter shows a printer's headers write-only: names, values masked
// (a printer written before headers were sealed has them in clear).
func maskPrinter(p *oi.Printer) *oi.Printer {
	if p != nil {
		p.Headers = oi.MaskHeaderMap(p.Headers)
	}
	return p
}

func (s *Server) listPrinters(c *gin.Context) {
	out, err := s.Store.ListPrinters(c.Request.Context())
	for _, p := range out {
		maskPrinter(p)
	}
	s.reply(c, http.StatusOK, items(out), err)
}

func (s *Server) getPrinter(c *gin.Context) {
	out, err := s.Store.GetPrinter(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, maskPrinter(out), err)
}

func (s *Server) patchPrinter(c *gin.Context) {
	p, err := s.Store.GetPrinter(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b printerBody
	if !s.bind(c, &b) {
		return
	}
	// Headers are write-only: absent keeps them all; a header given with the
	// masked value (as HQ shows it) keeps that header's stored value.
	stored, err := store.OpenPrinterHeaders(s.Sealer, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := firstErr(b.apply(p), s.checkPrinterExpressions(p)); err != nil {
		s.fail(c, err)
		return
	}
	plain := stored
	if b.Headers != nil {
		plain = make(map[string]string, len(*b.Headers))
		for k, v := range *b.Headers {
			if v == oi.Masked {
				old, ok := stored[k]
				if !ok {
					s.fail(c, oi.FieldError("headers", "header %s has the masked value %s but no stored value: give the real value", k, oi.Masked))
					return
				}
				v = old
			}
			plain[k] = v
		}
	}
	store.SealPrinterHeaders(s.Sealer, p, plain)
	out, err := s.Store.UpdatePrinter(c.Request.Context(), p)
	s.reply(c, http.StatusOK, maskPrinter(out), err)
}

// ---- templates

type templateBody struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Format  string `json:"format"`
	Body    string `json:"body"`
	Subject string `json:"subject"`
	Strict  *bool  `json:"strict"` // omitted on PUT: the current version's
}

// check validates a template body and compiles it, so a syntax error is
// refused at save time with its line and column.
func (s *Server) check(t *oi.Template) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := s.Mapper.Check(mapper.Template{Format: mapper.Format(t.Format), Body: t.Body}); err != nil {
		return templateProblem(err)
	}
	if t.Subject != "" {
		if err := s.Mapper.Check(mapper.Template{Format: mapper.FormatText, Body: t.Subject}); err != nil {
			e := templateProblem(err)
			e.Field = "subject"
			return e
		}
	}
	return nil
}

// templateProblem turns a render error into a problem with its position.
func templateProblem(err error) *oi.Error {
	e := &oi.Error{Code: oi.ETEMPLATE, Field: "body", Message: err.Error()}
	if me, ok := err.(*mapper.Error); ok {
		e.Message = me.Message
		e.Detail = map[string]any{"kind": me.Kind, "where": me.Where, "line": me.Line, "column": me.Column, "excerpt": me.Excerpt}
	}
	return e
}

func (s *Server) createTemplate(c *gin.Context) {
	var b templateBody
	if !s.bind(c, &b) {
		return
	}
	t := &oi.Template{ID: oi.NewID("tpl"), Name: b.Name, Kind: b.Kind, Format: b.Format, Body: b.Body, Subject: b.Subject,
		Strict: b.Strict != nil && *b.Strict}
	if err := s.check(t); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.CreateTemplate(c.Request.Context(), t)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listTemplates(c *gin.Context) {
	out, err := s.Store.ListTemplates(c.Request.Context())
	s.reply(c, http.StatusOK, items(out), err)
}

func (s *Server) getTemplate(c *gin.Context) {
	out, err := s.Store.GetTemplate(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) putTemplate(c *gin.Context) {
	cur, err := s.Store.GetTemplate(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b templateBody
	if !s.bind(c, &b) {
		return
	}
	if b.Kind == "" {
		b.Kind = cur.Kind
	}
	if b.Kind != cur.Kind {
		s.fail(c, oi.FieldError("kind", "a template's kind cannot change (it is %s)", cur.Kind))
		return
	}
	t := &oi.Template{ID: cur.ID, Name: b.Name, Kind: cur.Kind, Format: b.Format, Body: b.Body, Subject: b.Subject, Strict: cur.Strict}
	if b.Strict != nil {
		t.Strict = *b.Strict
	}
	if err := s.check(t); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.UpdateTemplate(c.Request.Context(), t)
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) templateVersions(c *gin.Context) {
	out, err := s.Store.ListTemplateVersions(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, items(out), err)
}

// ---- triggers

type triggerBody struct {
	CustomerID     *string   `json:"customerId"`
	Name           *string   `json:"name"`
	Event          *string   `json:"event"`
	Method         *string   `json:"method"`
	TemplateID     *string   `json:"templateId"`
	Format         *string   `json:"format"`
	URL            *string   `json:"url"`
	Emails         *[]string `json:"emails"`
	RetryOnFailure *bool     `json:"retryOnFailure"`
	Status         *string   `json:"status"`
}

func (b *triggerBody) apply(t *oi.Trigger) error {
	for dst, v := range map[*string]*string{&t.CustomerID: b.CustomerID, &t.Name: b.Name, &t.Event: b.Event,
		&t.Method: b.Method, &t.TemplateID: b.TemplateID, &t.Format: b.Format, &t.URL: b.URL, &t.Status: b.Status} {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	if b.Emails != nil {
		t.Emails = *b.Emails
	}
	if b.RetryOnFailure != nil {
		t.RetryOnFailure = *b.RetryOnFailure
	}
	return t.Validate()
}

func (s *Server) createTrigger(c *gin.Context) {
	var b triggerBody
	if !s.bind(c, &b) {
		return
	}
	t := &oi.Trigger{ID: oi.NewID("trg"), Format: oi.FormatJSON, RetryOnFailure: true, Status: oi.TriggerActive}
	if err := b.apply(t); err != nil {
		s.fail(c, err)
		return
	}
	secret, err := delivery.NewSecret()
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.CreateTrigger(c.Request.Context(), t, s.Sealer.SealFor(secret, seal.TriggerSecret(t.ID)))
	if err == nil {
		out.Secret = secret
	}
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listTriggers(c *gin.Context) {
	out, err := s.Store.ListTriggers(c.Request.Context(), c.Query("customerId"))
	s.reply(c, http.StatusOK, items(out), err)
}

func (s *Server) getTrigger(c *gin.Context) {
	out, err := s.Store.GetTrigger(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) patchTrigger(c *gin.Context) {
	t, err := s.Store.GetTrigger(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b triggerBody
	if !s.bind(c, &b) {
		return
	}
	if err := b.apply(t); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.UpdateTrigger(c.Request.Context(), t)
	s.reply(c, http.StatusOK, out, err)
}

// secretGrace is how long a rotated-out secret keeps signing.
const secretGrace = 24 * time.Hour

func (s *Server) rotateSecret(c *gin.Context) {
	secret, err := delivery.NewSecret()
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.Store.RotateTriggerSecret(c.Request.Context(), c.Param("id"), s.Sealer.SealFor(secret, seal.TriggerSecret(c.Param("id"))), secretGrace); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.Store.GetTrigger(c.Request.Context(), c.Param("id"))
	if err == nil {
		t.Secret = secret
	}
	s.reply(c, http.StatusOK, t, err)
}

// ---- requests and postbacks

// listFilter reads the shared list query parameters.
func listFilter(c *gin.Context) (store.ListFilter, error) {
	f := store.ListFilter{CustomerID: c.Query("customerId"), Status: c.Query("status"), Event: c.Query("event"),
		TriggerID: c.Query("triggerId"), OrderID: c.Query("orderId"), Reference: c.Query("reference"), Cursor: c.Query("cursor"),
		PrinterID: c.Query("printerId"), Query: strings.TrimSpace(c.Query("q"))}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, oi.FieldError(name, "%s must be an RFC 3339 time, like 2026-11-22T00:00:00Z", name)
			}
			*dst = t
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, oi.FieldError("limit", "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, oi.FieldError("to", "to must be later than from (the range is [from, to))")
	}
	return f, nil
}

func (s *Server) listRequests(c *gin.Context) {
	f, err := listFilter(c)
	if err == nil {
		err = checkRequestFilter(f)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	out, next, err := s.views.Requests(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page(out, next))
}

// getRequest is the Requests view of one order: the four stages, the event
// timeline and the postbacks it fired.
func (s *Server) getRequest(c *gin.Context) {
	out, err := s.views.Request(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) listPostbacks(c *gin.Context) {
	f, err := listFilter(c)
	if err == nil {
		err = checkPostbackFilter(f)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	out, next, err := s.views.Postbacks(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page(out, next))
}

func (s *Server) getPostback(c *gin.Context) {
	out, err := s.views.Postback(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}
