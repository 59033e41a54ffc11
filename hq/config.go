package hq

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/service"
)

// ---- configuration pages: one generic list/create/edit page per resource

// field is one input of a resource's form: text/textarea/select/password
// (password left out when empty), number, checkbox, lines (a list of
// strings), headers ("Name: value" lines).
type field struct {
	Key, Label, Kind string
	Options          string // option set of a select (see options.get)
	Help             string
	Default          string
	CreateOnly       bool // sent on create only (the service ignores or refuses changes)
}

type column struct {
	Key, Label string
	Names      string // option set that turns an id into a name
}

// action is a POST on one row: its path suffix and label.
type action struct {
	Path, Label string
}

// record is a configuration row as the pages show it: its own fields, and
// its values by field key (columns and form).
type record struct {
	ID, Name, Status, DisabledReason string
	CreatedAt, UpdatedAt             time.Time
	Values                           map[string]string
	Rows                             []headerRow // a lookup's rows
}

// resource is one kind of configuration row and how its pages reach the
// admin service.
type resource struct {
	Name, Title, Singular string
	Columns               []column
	Fields                []field
	Keys                  bool // has API keys (customers, printers)
	Rows                  bool // has rows imported as CSV (lookups)
	Actions               []action
	Note                  string

	list   func(ctx context.Context, a *service.Admin) ([]record, error)
	get    func(ctx context.Context, a *service.Admin, id string) (*record, error)
	create func(ctx context.Context, a *service.Admin, f *form) (*record, string, error) // the new row, a secret shown once
	update func(ctx context.Context, a *service.Admin, id string, f *form) error
	owner  string // key owner kind (Keys)
}

var resources = []*resource{customers, printers, triggers, lookups}

var customers = &resource{Name: "customers", Title: "Customers", Singular: "customer", Keys: true, owner: oi.OwnerCustomer,
	Columns: []column{{"name", "Name", ""}, {"referenceId", "Reference", ""}, {"printerId", "Printer", "printers"},
		{"intakeTemplateId", "Intake template", "templates"}, {"updatedAt", "Updated", ""}},
	Fields: []field{
		{Key: "name", Label: "Name", Kind: "text"},
		{Key: "referenceId", Label: "Reference id", Kind: "text", Help: "the merchant's own id for itself"},
		{Key: "printerId", Label: "Printer", Kind: "select", Options: "printers"},
		{Key: "intakeTemplateId", Label: "Intake template", Kind: "select", Options: "templates:intake"},
		{Key: "cancelTemplateId", Label: "Cancel template", Kind: "select", Options: "templates:cancel",
			Help: "renders the cancel sent to the printer's cancel URL (input: the customer's cancel body; printerOrderId available)"},
		{Key: "submitResponseTemplateId", Label: "Submit response template", Kind: "select", Options: "templates:submit_response",
			Help: "our answer to POST /v1/orders in the merchant's own JSON or XML; none: our standard answer"},
		{Key: "cancelResponseTemplateId", Label: "Cancel response template", Kind: "select", Options: "templates:cancel_response",
			Help: "our answer to a cancel in the merchant's own JSON or XML; none: our standard answer"},
		{Key: "delayedAfter", Label: "Delayed after", Kind: "text",
			Help: "fire the delayed event when the printer has not shipped this long after it took the order: 48h, 90m, 30s; empty: never"},
		{Key: "referenceExpression", Label: "Reference expression", Kind: "text",
			Help: "one expression that pulls the order reference out of the body, order.number or {{ order.number }}; an order it finds none in is refused (422), never given a random key"},
	},
	list: func(ctx context.Context, a *service.Admin) ([]record, error) {
		l, err := a.Customers(ctx)
		return records(l, customerRecord), err
	},
	get: func(ctx context.Context, a *service.Admin, id string) (*record, error) {
		cu, err := a.Customer(ctx, id)
		return one(cu, err, customerRecord)
	},
	create: func(ctx context.Context, a *service.Admin, f *form) (*record, string, error) {
		in := customerInput(f)
		if err := f.err(); err != nil {
			return nil, "", err
		}
		cu, err := a.CreateCustomer(ctx, in)
		r, err := one(cu, err, customerRecord)
		return r, "", err
	},
	update: func(ctx context.Context, a *service.Admin, id string, f *form) error {
		in := customerInput(f)
		if err := f.err(); err != nil {
			return err
		}
		_, err := a.UpdateCustomer(ctx, id, in)
		return err
	},
}

func customerInput(f *form) service.CustomerInput {
	return service.CustomerInput{Name: f.str("name"), ReferenceID: f.str("referenceId"), PrinterID: f.str("printerId"),
		IntakeTemplateID: f.str("intakeTemplateId"), CancelTemplateID: f.str("cancelTemplateId"),
		SubmitResponseTemplateID: f.str("submitResponseTemplateId"), CancelResponseTemplateID: f.str("cancelResponseTemplateId"),
		DelayedAfter: f.str("delayedAfter"), ReferenceExpression: f.str("referenceExpression")}
}

func customerRecord(cu *oi.Customer) record {
	delayed := cu.DelayedAfter.String()
	return record{ID: cu.ID, Name: cu.Name, CreatedAt: cu.CreatedAt, UpdatedAt: cu.UpdatedAt, Values: map[string]string{
		"name": cu.Name, "referenceId": cu.ReferenceID, "printerId": cu.PrinterID, "intakeTemplateId": cu.IntakeTemplateID,
		"cancelTemplateId": cu.CancelTemplateID, "submitResponseTemplateId": cu.SubmitResponseTemplateID,
		"cancelResponseTemplateId": cu.CancelResponseTemplateID, "delayedAfter": delayed,
		"referenceExpression": cu.ReferenceExpression, "updatedAt": fmtTime(cu.UpdatedAt)}}
}

var printers = &resource{Name: "printers", Title: "Printers", Singular: "printer", Keys: true, owner: oi.OwnerPrinter,
	Columns: []column{{"name", "Name", ""}, {"url", "URL", ""}, {"format", "Format", ""}, {"timeoutMs", "Timeout (ms)", ""}},
	Fields: []field{
		{Key: "name", Label: "Name", Kind: "text"},
		{Key: "url", Label: "Order URL", Kind: "text", Help: "where final requests are POSTed"},
		{Key: "format", Label: "Format", Kind: "select", Options: "formats", Default: oi.FormatJSON},
		{Key: "headers", Label: "Headers", Kind: "headers", Help: "one per line: Name: value"},
		{Key: "timeoutMs", Label: "Timeout (ms)", Kind: "number", Default: "15000"},
		{Key: "orderIdExpression", Label: "Order id expression", Kind: "text",
			Help: "finds the printer's own order id in its answer, like id or data.order.id; an answer without one shows a warning on the order"},
		{Key: "cancelUrl", Label: "Cancel URL", Kind: "text",
			Help: "where cancels are POSTed, a template string like https://psp.example/orders/{{ printerOrderId }}/cancel; empty: the printer takes no cancels"},
	},
	list: func(ctx context.Context, a *service.Admin) ([]record, error) {
		l, err := a.Printers(ctx)
		return records(l, printerRecord), err
	},
	get: func(ctx context.Context, a *service.Admin, id string) (*record, error) {
		p, err := a.Printer(ctx, id)
		return one(p, err, printerRecord)
	},
	create: func(ctx context.Context, a *service.Admin, f *form) (*record, string, error) {
		in := printerInput(f)
		if err := f.err(); err != nil {
			return nil, "", err
		}
		p, err := a.CreatePrinter(ctx, in)
		r, err := one(p, err, printerRecord)
		return r, "", err
	},
	update: func(ctx context.Context, a *service.Admin, id string, f *form) error {
		in := printerInput(f)
		if err := f.err(); err != nil {
			return err
		}
		_, err := a.UpdatePrinter(ctx, id, in)
		return err
	},
}

func printerInput(f *form) service.PrinterInput {
	return service.PrinterInput{Name: f.str("name"), URL: f.str("url"), Format: f.str("format"), Headers: f.headers("headers"),
		TimeoutMs: f.number("timeoutMs"), OrderIDExpression: f.str("orderIdExpression"), CancelURL: f.str("cancelUrl")}
}

func printerRecord(p *oi.Printer) record {
	var lines []string
	for _, r := range headerRows(p.Headers) {
		lines = append(lines, r.Name+": "+r.Value)
	}
	return record{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Values: map[string]string{
		"name": p.Name, "url": p.URL, "format": p.Format, "headers": strings.Join(lines, "\n"),
		"timeoutMs": strconv.Itoa(p.TimeoutMs), "orderIdExpression": p.OrderIDExpression, "cancelUrl": p.CancelURL}}
}

var triggers = &resource{Name: "triggers", Title: "Triggers", Singular: "trigger",
	Columns: []column{{"name", "Name", ""}, {"customerId", "Customer", "customers"}, {"event", "Event", ""},
		{"method", "Method", ""}, {"url", "URL", ""}, {"emailList", "E-mails", ""}, {"status", "Status", ""}},
	Fields: []field{
		{Key: "customerId", Label: "Customer", Kind: "select", Options: "customers", CreateOnly: true},
		{Key: "name", Label: "Name", Kind: "text"},
		{Key: "event", Label: "Event", Kind: "select", Options: "events"},
		{Key: "method", Label: "Method", Kind: "select", Options: "methods", Default: oi.MethodURL},
		{Key: "templateId", Label: "Template", Kind: "select", Options: "templates:postback"},
		{Key: "format", Label: "Format (webhooks)", Kind: "select", Options: "formats", Default: oi.FormatJSON},
		{Key: "url", Label: "URL (webhooks)", Kind: "text"},
		{Key: "emails", Label: "Addresses (e-mail)", Kind: "lines", Help: "one per line"},
		{Key: "retryOnFailure", Label: "Retry on failure", Kind: "checkbox", Default: "on"},
		{Key: "status", Label: "Status", Kind: "select", Options: "triggerStatuses", Default: oi.TriggerActive},
	},
	Actions: []action{{Path: "test", Label: "Send test"}, {Path: "rotate-secret", Label: "Rotate signing secret"}},
	list: func(ctx context.Context, a *service.Admin) ([]record, error) {
		l, err := a.Triggers(ctx, "")
		return records(l, triggerRecord), err
	},
	get: func(ctx context.Context, a *service.Admin, id string) (*record, error) {
		t, err := a.Trigger(ctx, id)
		return one(t, err, triggerRecord)
	},
	create: func(ctx context.Context, a *service.Admin, f *form) (*record, string, error) {
		t, err := a.CreateTrigger(ctx, triggerInput(f))
		if err != nil {
			return nil, "", err
		}
		r := triggerRecord(t)
		return &r, t.Secret, nil
	},
	update: func(ctx context.Context, a *service.Admin, id string, f *form) error {
		_, err := a.UpdateTrigger(ctx, id, triggerInput(f))
		return err
	},
}

func triggerInput(f *form) service.TriggerInput {
	return service.TriggerInput{CustomerID: f.str("customerId"), Name: f.str("name"), Event: f.str("event"), Method: f.str("method"),
		TemplateID: f.str("templateId"), Format: f.str("format"), URL: f.str("url"), Emails: f.lines("emails"),
		RetryOnFailure: f.check("retryOnFailure"), Status: f.str("status")}
}

func triggerRecord(t *oi.Trigger) record {
	retry := ""
	if t.RetryOnFailure {
		retry = "on"
	}
	return record{ID: t.ID, Name: t.Name, Status: t.Status, DisabledReason: t.DisabledReason, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, Values: map[string]string{"customerId": t.CustomerID, "name": t.Name, "event": t.Event,
			"method": t.Method, "templateId": t.TemplateID, "format": t.Format, "url": t.URL, "emails": strings.Join(t.Emails, "\n"),
			"emailList": strings.Join(t.Emails, ", "), "retryOnFailure": retry, "status": t.Status}}
}

var lookups = &resource{Name: "lookups", Title: "Lookups", Singular: "lookup", Rows: true,
	Columns: []column{{"name", "Name", ""}, {"customerId", "Customer", "customers"}, {"default", "Default", ""}, {"updatedAt", "Updated", ""}},
	Fields: []field{
		{Key: "customerId", Label: "Customer", Kind: "select", Options: "customers", CreateOnly: true},
		{Key: "name", Label: "Name", Kind: "text", Help: `templates call lookups({"<name>": value})`},
		{Key: "default", Label: "Default value", Kind: "text"},
	},
	list: func(ctx context.Context, a *service.Admin) ([]record, error) {
		l, err := a.Lookups(ctx, "")
		out := make([]record, 0, len(l))
		for _, x := range l {
			out = append(out, record{ID: x.ID, Name: x.Name, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt,
				Values: map[string]string{"name": x.Name, "customerId": x.CustomerID, "default": x.Default, "updatedAt": fmtTime(x.UpdatedAt)}})
		}
		return out, err
	},
	get: func(ctx context.Context, a *service.Admin, id string) (*record, error) {
		l, err := a.Lookup(ctx, id)
		return one(l, err, lookupRecord)
	},
	create: func(ctx context.Context, a *service.Admin, f *form) (*record, string, error) {
		in := service.LookupInput{CustomerID: f.str("customerId"), Name: f.str("name"), Default: f.str("default"),
			Rows: &[]mapper.LookupRow{}}
		l, err := a.CreateLookup(ctx, in)
		r, err := one(l, err, lookupRecord)
		return r, "", err
	},
	update: func(ctx context.Context, a *service.Admin, id string, f *form) error {
		_, err := a.ReplaceLookup(ctx, id, service.LookupInput{CustomerID: f.str("customerId"), Name: f.str("name"), Default: f.str("default")})
		return err
	},
}

func lookupRecord(l *service.Lookup) record {
	r := record{ID: l.ID, Name: l.Name, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, Values: map[string]string{
		"customerId": l.CustomerID, "name": l.Name, "default": l.Default}}
	for _, row := range l.Rows {
		r.Rows = append(r.Rows, headerRow{row.Key, row.Value})
	}
	return r
}

func records[T any](list []T, f func(T) record) []record {
	out := make([]record, 0, len(list))
	for _, x := range list {
		out = append(out, f(x))
	}
	return out
}

func one[T any](x T, err error, f func(T) record) (*record, error) {
	if err != nil {
		return nil, err
	}
	r := f(x)
	return &r, nil
}

// ---- forms

// form reads a submitted resource form into typed input: each accessor
// gives nil for a field the form leaves out (a create-only field on
// update); the first value that does not parse is kept as the problem.
type form struct {
	c       *gin.Context
	fields  map[string]field
	create  bool
	problem *Problem
}

func newForm(c *gin.Context, fields []field, create bool) *form {
	f := &form{c: c, fields: map[string]field{}, create: create}
	for _, x := range fields {
		f.fields[x.Key] = x
	}
	return f
}

// sent says whether the form sends field key.
func (f *form) sent(key string) (field, bool) {
	x, ok := f.fields[key]
	return x, ok && !(x.CreateOnly && !f.create)
}

func (f *form) str(key string) *string {
	if _, ok := f.sent(key); !ok {
		return nil
	}
	v := f.c.PostForm(key)
	return &v
}

// password is nil when empty: the stored one is kept.
func (f *form) password(key string) *string {
	if v := f.str(key); v != nil && *v != "" {
		return v
	}
	return nil
}

func (f *form) check(key string) *bool {
	if _, ok := f.sent(key); !ok {
		return nil
	}
	v := f.c.PostForm(key) != ""
	return &v
}

func (f *form) number(key string) *int {
	x, ok := f.sent(key)
	v := strings.TrimSpace(f.c.PostForm(key))
	if !ok || v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f.fail(invalid(key, x.Label+" must be a whole number"))
		return nil
	}
	return &n
}

func (f *form) lines(key string) *[]string {
	if _, ok := f.sent(key); !ok {
		return nil
	}
	l := nonEmptyLines(f.c.PostForm(key))
	return &l
}

func (f *form) headers(key string) *map[string]string {
	x, ok := f.sent(key)
	if !ok {
		return nil
	}
	m := map[string]string{}
	for i, line := range nonEmptyLines(f.c.PostForm(key)) {
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			f.fail(invalid(key, x.Label+" line "+strconv.Itoa(i+1)+" must look like Name: value"))
			return nil
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return &m
}

// formError is a form value that does not parse, as an error.
type formError struct{ p *Problem }

func (e formError) Error() string { return e.p.Detail }

// err is the form's first problem as an error (nil: none).
func (f *form) err() error {
	if f.problem == nil {
		return nil
	}
	return formError{f.problem}
}

// pageProblem is err as a page shows it: a form problem as it is, a
// service error through problemOf.
func (h *HQ) pageProblem(c *gin.Context, err error) *Problem {
	var fe formError
	if errors.As(err, &fe) {
		return fe.p
	}
	return h.problem(c, err)
}

func (f *form) fail(p *Problem) {
	if f.problem == nil {
		f.problem = p
	}
}

func nonEmptyLines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// submitted is the form as the operator sent it, to show again.
func submitted(c *gin.Context, fields []field) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		out[f.Key] = c.PostForm(f.Key)
	}
	return out
}

func defaults(fields []field) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		out[f.Key] = f.Default
	}
	return out
}

// ---- select options

var staticOptions = map[string][]string{
	"events":          oi.Events,
	"formats":         {oi.FormatJSON, oi.FormatXML},
	"methods":         {oi.MethodURL, oi.MethodEmail},
	"triggerStatuses": {oi.TriggerActive, oi.TriggerTest, oi.TriggerDisabled},
	"kinds":           oi.TemplateKinds,
	"templateFormats": {oi.FormatJSON, oi.FormatXML, oi.FormatText},
}

type option struct{ Value, Label string }

// options loads the option sets a page needs, each from the service once.
type options struct {
	h    *HQ
	c    *gin.Context
	sets map[string][]option
}

func (h *HQ) options(c *gin.Context) *options {
	return &options{h: h, c: c, sets: map[string][]option{}}
}

func (o *options) get(name string) []option {
	if s, ok := o.sets[name]; ok {
		return s
	}
	var out []option
	if vals, ok := staticOptions[name]; ok {
		for _, v := range vals {
			out = append(out, option{v, v})
		}
	} else {
		what, filter, _ := strings.Cut(name, ":")
		_, items := o.h.names(o.c, what)
		for _, it := range items {
			k := it.Kind
			if filter == "" || k == filter || (filter == "postback" && (k == oi.KindWebhook || k == oi.KindEmail)) {
				label := it.Name
				if k != "" {
					label += " (" + k + ")"
				}
				out = append(out, option{it.ID, label})
			}
		}
	}
	o.sets[name] = out
	return out
}

// name shows an id by its option label.
func (o *options) name(set, id string) string {
	for _, op := range o.get(set) {
		if op.Value == id {
			return op.Label
		}
	}
	return id
}

// formField is a field ready for the template: its value and options.
type formField struct {
	field
	Value   string
	Choices []option
	Locked  bool
}

func formFields(fields []field, opts *options, values map[string]string, create bool) []formField {
	out := make([]formField, 0, len(fields))
	for _, f := range fields {
		ff := formField{field: f, Value: values[f.Key], Locked: f.CreateOnly && !create}
		if f.Kind == "select" {
			ff.Choices = opts.get(f.Options)
		}
		out = append(out, ff)
	}
	return out
}

// ---- pages

func (h *HQ) resourceRoutes(g *gin.RouterGroup, res *resource) {
	base := "/" + res.Name
	g.GET(base, func(c *gin.Context) { h.resourceList(c, res, http.StatusOK, nil, nil) })
	g.POST(base, func(c *gin.Context) { h.resourceCreate(c, res) })
	g.GET(base+"/:id", func(c *gin.Context) { h.resourceShow(c, res, http.StatusOK, nil, nil) })
	g.POST(base+"/:id", func(c *gin.Context) { h.resourceUpdate(c, res) })
	if res.Keys {
		g.POST(base+"/:id/keys", func(c *gin.Context) { h.createKey(c, res) })
		g.POST(base+"/:id/keys/:keyId/revoke", func(c *gin.Context) { h.revokeKey(c, res) })
	}
	if res.Rows {
		g.POST(base+"/:id/rows", func(c *gin.Context) { h.importRows(c, res) })
	}
	for _, a := range res.Actions {
		g.POST(base+"/:id/"+a.Path, func(c *gin.Context) { h.resourceAction(c, res, a) })
	}
}

// resourcesPage lists a resource's rows with the create form.
type resourcesPage struct {
	Page
	Res  *resource
	Rows [][]string // cells by column
	IDs  []string
	Form []formField
}

func (h *HQ) resourceList(c *gin.Context, res *resource, status int, p *Problem, values map[string]string) {
	opts := h.options(c)
	list, err := res.list(c.Request.Context(), h.Admin)
	v := &resourcesPage{Page: Page{Title: res.Title}, Res: res}
	for _, r := range list {
		row := make([]string, len(res.Columns))
		for i, col := range res.Columns {
			row[i] = r.Values[col.Key]
			if col.Names != "" {
				row[i] = opts.name(col.Names, row[i])
			}
		}
		v.Rows = append(v.Rows, row)
		v.IDs = append(v.IDs, r.ID)
	}
	if values == nil {
		values = defaults(res.Fields)
	}
	v.Form = formFields(res.Fields, opts, values, true)
	if err != nil {
		p := h.problem(c, err)
		v.Problem, status = p, p.Status
	}
	if p != nil {
		v.Problem, status = p, p.Status
	}
	h.render(c, status, "resources", v)
}

func (h *HQ) resourceCreate(c *gin.Context, res *resource) {
	f := newForm(c, res.Fields, true)
	r, secret, err := res.create(c.Request.Context(), h.Admin, f)
	if err != nil {
		p := h.pageProblem(c, err)
		h.resourceList(c, res, p.Status, p, submitted(c, res.Fields))
		return
	}
	if secret != "" {
		c.Params = append(c.Params, gin.Param{Key: "id", Value: r.ID})
		h.resourceShow(c, res, http.StatusCreated, &shown{Secret: secret, Notice: "Created. Copy the signing secret now: it is shown only once."}, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(r.ID)+"?notice=created")
}

// shown is what a resource page shows besides the row: the problem of a
// form that did not go through, or a secret shown once.
type shown struct {
	Problem *Problem
	Secret  string
	Notice  string
}

// resourcePage is one row: its form, keys, rows and actions.
type resourcePage struct {
	Page
	Res       *resource
	O         *record
	Form      []formField
	Keys      []*oi.APIKey
	Secret    string
	Postbacks string // link to a trigger's postbacks
}

func (h *HQ) resourceShow(c *gin.Context, res *resource, status int, st *shown, values map[string]string) {
	ctx := c.Request.Context()
	r, err := res.get(ctx, h.Admin, c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	opts := h.options(c)
	if values == nil {
		values = r.Values
	}
	v := &resourcePage{Page: Page{Title: res.Singular + " " + r.Name}, Res: res, O: r, Form: formFields(res.Fields, opts, values, false)}
	if res.Keys {
		if v.Keys, err = h.Admin.Keys(ctx, res.owner, r.ID); err != nil {
			v.Problem = h.problem(c, err) // the row shows; its keys could not be read
			status = v.Problem.Status
		}
	}
	if res == triggers {
		v.Postbacks = "/hq/postbacks?triggerId=" + url.QueryEscape(r.ID)
	}
	if st != nil {
		if st.Problem != nil {
			v.Problem, status = st.Problem, st.Problem.Status
		}
		v.Secret, v.Notice = st.Secret, st.Notice
	}
	h.render(c, status, "resource", v)
}

func (h *HQ) resourceUpdate(c *gin.Context, res *resource) {
	f := newForm(c, res.Fields, false)
	if err := res.update(c.Request.Context(), h.Admin, c.Param("id"), f); err != nil {
		p := h.pageProblem(c, err)
		h.resourceShow(c, res, p.Status, &shown{Problem: p}, submitted(c, res.Fields))
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(c.Param("id"))+"?notice=saved")
}

func (h *HQ) createKey(c *gin.Context, res *resource) {
	k, err := h.Admin.CreateKey(c.Request.Context(), res.owner, c.Param("id"))
	if err != nil {
		p := h.problem(c, err)
		h.resourceShow(c, res, p.Status, &shown{Problem: p}, nil)
		return
	}
	h.resourceShow(c, res, http.StatusCreated, &shown{Secret: k.Key, Notice: "Key created. Copy it now: it is shown only once and stored hashed."}, nil)
}

func (h *HQ) revokeKey(c *gin.Context, res *resource) {
	if err := h.Admin.RevokeKey(c.Request.Context(), res.owner, c.Param("id"), c.Param("keyId")); err != nil {
		p := h.problem(c, err)
		h.resourceShow(c, res, p.Status, &shown{Problem: p}, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(c.Param("id"))+"?notice=revoked")
}

// resourceAction runs a trigger's buttons: send a test (then its postback
// page) or rotate the signing secret (shown once).
func (h *HQ) resourceAction(c *gin.Context, res *resource, a action) {
	ctx := c.Request.Context()
	switch a.Path {
	case "test":
		out, err := h.Admin.TestPostback(ctx, c.Param("id"), "")
		if err != nil {
			p := h.problem(c, err)
			h.resourceShow(c, res, p.Status, &shown{Problem: p}, nil)
			return
		}
		c.Redirect(http.StatusSeeOther, "/hq/postbacks/"+url.PathEscape(out.ID)+"?notice=tested")
	case "rotate-secret":
		t, err := h.Admin.RotateSecret(ctx, c.Param("id"))
		if err != nil {
			p := h.problem(c, err)
			h.resourceShow(c, res, p.Status, &shown{Problem: p}, nil)
			return
		}
		h.resourceShow(c, res, http.StatusOK, &shown{Secret: t.Secret,
			Notice: "New signing secret: copy it now, it is shown only once. The old one keeps signing for 24 hours."}, nil)
	}
}

func (h *HQ) importRows(c *gin.Context, res *resource) {
	csv := c.PostForm("csv")
	if strings.TrimSpace(csv) == "" {
		h.resourceShow(c, res, 422, &shown{Problem: invalid("csv", "paste rows as CSV: key,value per line")}, nil)
		return
	}
	if _, err := h.Admin.ImportLookupCSV(c.Request.Context(), c.Param("id"), []byte(csv)); err != nil {
		p := h.problem(c, err)
		h.resourceShow(c, res, p.Status, &shown{Problem: p}, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(c.Param("id"))+"?notice=imported")
}
