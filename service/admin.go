package service

import (
	"context"
	"strings"
	"time"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/mapper"
	"orderintake/store"
)

// Admin is the operators' configuration: customers, printers and their API
// keys, triggers, templates, lookups, the work settings and postback
// resends. The admin JSON routes (api) and the HQ pages (hq) both call it,
// so an action has one implementation whoever asks. Errors are *oi.Error
// with a code (and the field at fault), mapped to HTTP in one place
// (internal/problem).
type Admin struct {
	Store     *store.Store
	Mapper    *mapper.Engine
	Sealer    *seal.Sealer
	Workflows *Workflows
	Views     *Views
	// KeysChanged is called after a key is revoked or a customer changes,
	// so a cache of resolved keys (api's) forgets them; nil: nothing.
	KeysChanged func()
}

func (a *Admin) keysChanged() {
	if a.KeysChanged != nil {
		a.KeysChanged()
	}
}

// ---- customers

// CustomerInput creates a customer or changes the fields it names (nil:
// unchanged).
type CustomerInput struct {
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

func (b *CustomerInput) apply(cu *oi.Customer) error {
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
func (a *Admin) checkCustomerTemplates(ctx context.Context, cu *oi.Customer) error {
	for _, f := range []struct{ field, id, kind string }{
		{"intakeTemplateId", cu.IntakeTemplateID, oi.KindIntake},
		{"cancelTemplateId", cu.CancelTemplateID, oi.KindCancel},
		{"submitResponseTemplateId", cu.SubmitResponseTemplateID, oi.KindSubmitResponse},
		{"cancelResponseTemplateId", cu.CancelResponseTemplateID, oi.KindCancelResponse},
	} {
		if f.id == "" || f.kind == oi.KindIntake {
			continue // intake templates were never checked here; kept as it was
		}
		t, err := a.Store.GetTemplate(ctx, f.id)
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
func (a *Admin) checkReferenceExpression(cu *oi.Customer) error {
	if cu.ReferenceExpression == "" {
		return nil
	}
	if err := a.Mapper.CheckExpression(cu.ReferenceExpression); err != nil {
		e := TemplateProblem(err)
		e.Code, e.Field = oi.EINVALID, "referenceExpression"
		e.Message = "referenceExpression is not one valid expression (write it like order.ref or {{ order.ref }}): " + e.Message
		return e
	}
	return nil
}

func (a *Admin) checkCustomer(ctx context.Context, b *CustomerInput, cu *oi.Customer) error {
	return firstErr(b.apply(cu), cu.Validate(), a.checkReferenceExpression(cu), a.checkCustomerTemplates(ctx, cu))
}

// CreateCustomer validates and stores a new customer.
func (a *Admin) CreateCustomer(ctx context.Context, b CustomerInput) (*oi.Customer, error) {
	cu := &oi.Customer{ID: oi.NewID("cus")}
	if err := a.checkCustomer(ctx, &b, cu); err != nil {
		return nil, err
	}
	return a.Store.CreateCustomer(ctx, cu)
}

// Customers lists every customer.
func (a *Admin) Customers(ctx context.Context) ([]*oi.Customer, error) {
	return a.Store.ListCustomers(ctx)
}

// Customer is one customer.
func (a *Admin) Customer(ctx context.Context, id string) (*oi.Customer, error) {
	return a.Store.GetCustomer(ctx, id)
}

// UpdateCustomer changes the fields b names.
func (a *Admin) UpdateCustomer(ctx context.Context, id string, b CustomerInput) (*oi.Customer, error) {
	cu, err := a.Store.GetCustomer(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.checkCustomer(ctx, &b, cu); err != nil {
		return nil, err
	}
	out, err := a.Store.UpdateCustomer(ctx, cu)
	a.keysChanged()
	return out, err
}

// ---- API keys of customers and printers

// keyOwnerExists is ENOTFOUND unless the customer or printer exists.
func (a *Admin) keyOwnerExists(ctx context.Context, kind, id string) error {
	var err error
	if kind == oi.OwnerCustomer {
		_, err = a.Store.GetCustomer(ctx, id)
	} else {
		_, err = a.Store.GetPrinter(ctx, id)
	}
	return err
}

// CreateKey makes a key for a customer or printer (kind oi.OwnerCustomer or
// oi.OwnerPrinter); the answer carries the key itself this once.
func (a *Admin) CreateKey(ctx context.Context, kind, ownerID string) (*oi.APIKey, error) {
	if err := a.keyOwnerExists(ctx, kind, ownerID); err != nil {
		return nil, err
	}
	return a.Store.CreateKey(ctx, kind, ownerID)
}

// Keys lists an owner's keys (prefixes only, never the key).
func (a *Admin) Keys(ctx context.Context, kind, ownerID string) ([]*oi.APIKey, error) {
	if err := a.keyOwnerExists(ctx, kind, ownerID); err != nil {
		return nil, err
	}
	return a.Store.ListKeys(ctx, kind, ownerID)
}

// RevokeKey revokes one key of an owner.
func (a *Admin) RevokeKey(ctx context.Context, kind, ownerID, keyID string) error {
	err := a.Store.RevokeKey(ctx, kind, ownerID, keyID)
	a.keysChanged()
	return err
}

// ---- printers

// PrinterInput creates a printer or changes the fields it names.
type PrinterInput struct {
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

func (b *PrinterInput) apply(p *oi.Printer) error {
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

// checkPrinterExpressions checks a printer's orderIdExpression (one
// expression) and cancelUrl (a template string) when it is saved.
func (a *Admin) checkPrinterExpressions(p *oi.Printer) error {
	if p.OrderIDExpression != "" {
		if err := a.Mapper.CheckExpression(p.OrderIDExpression); err != nil {
			return fieldTemplateError("orderIdExpression", err)
		}
	}
	if p.CancelURL != "" {
		if err := a.Mapper.Check(mapper.Template{Format: mapper.FormatText, Body: p.CancelURL}); err != nil {
			return fieldTemplateError("cancelUrl", err)
		}
	}
	return nil
}

// CreatePrinter validates and stores a new printer, its headers sealed.
func (a *Admin) CreatePrinter(ctx context.Context, b PrinterInput) (*oi.Printer, error) {
	p := &oi.Printer{ID: oi.NewID("prn"), Format: oi.FormatJSON, TimeoutMs: 15000, Headers: map[string]string{}}
	if err := firstErr(b.apply(p), a.checkPrinterExpressions(p)); err != nil {
		return nil, err
	}
	for k, v := range p.Headers {
		if v == oi.Masked {
			return nil, oi.FieldError("headers", "header %s has the masked value %s: give the real value", k, oi.Masked)
		}
	}
	store.SealPrinterHeaders(a.Sealer, p, p.Headers)
	out, err := a.Store.CreatePrinter(ctx, p)
	return maskPrinter(out), err
}

// maskPrinter shows a printer's headers write-only: names, values masked
// (a printer written before headers were sealed has them in clear).
func maskPrinter(p *oi.Printer) *oi.Printer {
	if p != nil {
		p.Headers = oi.MaskHeaderMap(p.Headers)
	}
	return p
}

// Printers lists every printer, headers masked.
func (a *Admin) Printers(ctx context.Context) ([]*oi.Printer, error) {
	out, err := a.Store.ListPrinters(ctx)
	for _, p := range out {
		maskPrinter(p)
	}
	return out, err
}

// Printer is one printer, headers masked.
func (a *Admin) Printer(ctx context.Context, id string) (*oi.Printer, error) {
	out, err := a.Store.GetPrinter(ctx, id)
	return maskPrinter(out), err
}

// UpdatePrinter changes the fields b names. Headers are write-only: absent
// keeps them all; a header given with the masked value (as HQ shows it)
// keeps that header's stored value.
func (a *Admin) UpdatePrinter(ctx context.Context, id string, b PrinterInput) (*oi.Printer, error) {
	p, err := a.Store.GetPrinter(ctx, id)
	if err != nil {
		return nil, err
	}
	stored, err := store.OpenPrinterHeaders(a.Sealer, p)
	if err != nil {
		return nil, err
	}
	if err := firstErr(b.apply(p), a.checkPrinterExpressions(p)); err != nil {
		return nil, err
	}
	plain := stored
	if b.Headers != nil {
		plain = make(map[string]string, len(*b.Headers))
		for k, v := range *b.Headers {
			if v == oi.Masked {
				old, ok := stored[k]
				if !ok {
					return nil, oi.FieldError("headers", "header %s has the masked value %s but no stored value: give the real value", k, oi.Masked)
				}
				v = old
			}
			plain[k] = v
		}
	}
	store.SealPrinterHeaders(a.Sealer, p, plain)
	out, err := a.Store.UpdatePrinter(ctx, p)
	return maskPrinter(out), err
}

// ---- triggers

// TriggerInput creates a trigger or changes the fields it names.
type TriggerInput struct {
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

func (b *TriggerInput) apply(t *oi.Trigger) error {
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

// CreateTrigger validates and stores a trigger with a fresh signing secret,
// which the answer carries this once.
func (a *Admin) CreateTrigger(ctx context.Context, b TriggerInput) (*oi.Trigger, error) {
	t := &oi.Trigger{ID: oi.NewID("trg"), Format: oi.FormatJSON, RetryOnFailure: true, Status: oi.TriggerActive}
	if err := b.apply(t); err != nil {
		return nil, err
	}
	secret, err := delivery.NewSecret()
	if err != nil {
		return nil, err
	}
	out, err := a.Store.CreateTrigger(ctx, t, a.Sealer.SealFor(secret, seal.TriggerSecret(t.ID)))
	if err == nil {
		out.Secret = secret
	}
	return out, err
}

// Triggers lists the triggers of a customer ("" every customer).
func (a *Admin) Triggers(ctx context.Context, customerID string) ([]*oi.Trigger, error) {
	return a.Store.ListTriggers(ctx, customerID)
}

// Trigger is one trigger.
func (a *Admin) Trigger(ctx context.Context, id string) (*oi.Trigger, error) {
	return a.Store.GetTrigger(ctx, id)
}

// UpdateTrigger changes the fields b names.
func (a *Admin) UpdateTrigger(ctx context.Context, id string, b TriggerInput) (*oi.Trigger, error) {
	t, err := a.Store.GetTrigger(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := b.apply(t); err != nil {
		return nil, err
	}
	return a.Store.UpdateTrigger(ctx, t)
}

// SecretGrace is how long a rotated-out secret keeps signing.
const SecretGrace = 24 * time.Hour

// RotateSecret gives a trigger a new signing secret (in the answer, this
// once); the old one keeps signing for SecretGrace.
func (a *Admin) RotateSecret(ctx context.Context, id string) (*oi.Trigger, error) {
	secret, err := delivery.NewSecret()
	if err != nil {
		return nil, err
	}
	if err := a.Store.RotateTriggerSecret(ctx, id, a.Sealer.SealFor(secret, seal.TriggerSecret(id)), SecretGrace); err != nil {
		return nil, err
	}
	t, err := a.Store.GetTrigger(ctx, id)
	if err == nil {
		t.Secret = secret
	}
	return t, err
}

// ---- names for tables and selects

// Name is a configuration row's id and name (and kind, for templates).
type Name struct {
	ID, Name, Kind string
}

// Names lists the customers, printers, triggers or templates (what: one of
// "customers", "printers", "triggers", "templates") by id and name.
func (a *Admin) Names(ctx context.Context, what string) ([]Name, error) {
	var out []Name
	switch what {
	case "customers":
		l, err := a.Store.ListCustomers(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range l {
			out = append(out, Name{ID: x.ID, Name: x.Name})
		}
	case "printers":
		l, err := a.Store.ListPrinters(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range l {
			out = append(out, Name{ID: x.ID, Name: x.Name})
		}
	case "triggers":
		l, err := a.Store.ListTriggers(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, x := range l {
			out = append(out, Name{ID: x.ID, Name: x.Name})
		}
	case "templates":
		l, err := a.Store.ListTemplates(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range l {
			out = append(out, Name{ID: x.ID, Name: x.Name, Kind: x.Kind})
		}
	default:
		return nil, oi.Errorf(oi.EINTERNAL, "no names of %q", what)
	}
	return out, nil
}

// ---- helpers shared by the admin files

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return oi.FieldError(field, "%s is required", field)
	}
	return nil
}

// OneOf refuses v unless it is one of allowed, naming the field.
func OneOf(field, v string, allowed ...string) error {
	for _, x := range allowed {
		if v == x {
			return nil
		}
	}
	return oi.FieldError(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

// RefError says which field refers to something missing; other errors pass.
func RefError(field, what, id string, err error) error {
	if oi.ErrorCode(err) == oi.ENOTFOUND {
		return oi.FieldError(field, "there is no %s %s", what, id)
	}
	return err
}
