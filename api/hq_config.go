package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	oi "orderintake"
)

// ---- configuration pages: one generic list/create/edit page per resource

// hqField is one input of a resource's form and how it maps to JSON:
// text/textarea/select/password as strings (password omitted when empty),
// number as an integer, checkbox as a boolean, lines as a list of strings,
// headers as "Name: value" lines into an object.
type hqField struct {
	Key, Label, Kind string
	Options          string // option set of a select (see optionSet)
	Help             string
	Default          string
	CreateOnly       bool // sent on create only (the API ignores or refuses changes)
}

type hqColumn struct {
	Key, Label string
	Names      string // option set that turns an id into a name
}

// hqAction is a POST on one row: the API path suffix and what to show after.
type hqAction struct {
	Path, Label, Notice string
	Secret              bool // the answer carries a secret shown once
	ShowPostback        bool // the answer is a postback: go to its page
}

type hqResource struct {
	Name, Title, Singular, API, Update string
	Columns                            []hqColumn
	Fields                             []hqField
	Keys                               bool // has API keys (customers, printers)
	Rows                               bool // has rows imported as CSV (lookups)
	Actions                            []hqAction
	Note                               string
}

var hqResources = []*hqResource{
	{Name: "customers", Title: "Customers", Singular: "customer", API: "/v1/admin/customers", Update: http.MethodPatch, Keys: true,
		Columns: []hqColumn{{"name", "Name", ""}, {"referenceId", "Reference", ""}, {"printerId", "Printer", "printers"},
			{"intakeTemplateId", "Intake template", "templates"}, {"updatedAt", "Updated", ""}},
		Fields: []hqField{
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
		}},
	{Name: "printers", Title: "Printers", Singular: "printer", API: "/v1/admin/printers", Update: http.MethodPatch, Keys: true,
		Columns: []hqColumn{{"name", "Name", ""}, {"url", "URL", ""}, {"format", "Format", ""}, {"timeoutMs", "Timeout (ms)", ""}},
		Fields: []hqField{
			{Key: "name", Label: "Name", Kind: "text"},
			{Key: "url", Label: "Order URL", Kind: "text", Help: "where final requests are POSTed"},
			{Key: "format", Label: "Format", Kind: "select", Options: "formats", Default: oi.FormatJSON},
			{Key: "headers", Label: "Headers", Kind: "headers", Help: "one per line: Name: value"},
			{Key: "timeoutMs", Label: "Timeout (ms)", Kind: "number", Default: "15000"},
			{Key: "orderIdExpression", Label: "Order id expression", Kind: "text",
				Help: "finds the printer's own order id in its answer, like id or data.order.id; an answer without one shows a warning on the order"},
			{Key: "cancelUrl", Label: "Cancel URL", Kind: "text",
				Help: "where cancels are POSTed, a template string like https://psp.example/orders/{{ printerOrderId }}/cancel; empty: the printer takes no cancels"},
		}},
	{Name: "triggers", Title: "Triggers", Singular: "trigger", API: "/v1/admin/triggers", Update: http.MethodPatch,
		Columns: []hqColumn{{"name", "Name", ""}, {"customerId", "Customer", "customers"}, {"event", "Event", ""},
			{"method", "Method", ""}, {"url", "URL", ""}, {"emails", "E-mails", ""}, {"status", "Status", ""}},
		Fields: []hqField{
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
		Actions: []hqAction{{Path: "test", Label: "Send test", ShowPostback: true},
			{Path: "rotate-secret", Label: "Rotate signing secret", Secret: true}}},
	{Name: "lookups", Title: "Lookups", Singular: "lookup", API: "/v1/admin/lookups", Update: http.MethodPut, Rows: true,
		Columns: []hqColumn{{"name", "Name", ""}, {"customerId", "Customer", "customers"}, {"default", "Default", ""}, {"updatedAt", "Updated", ""}},
		Fields: []hqField{
			{Key: "customerId", Label: "Customer", Kind: "select", Options: "customers", CreateOnly: true},
			{Key: "name", Label: "Name", Kind: "text", Help: `templates call lookups({"<name>": value})`},
			{Key: "default", Label: "Default value", Kind: "text"},
		}},
}

var staticOptions = map[string][]string{
	"events":          oi.Events,
	"formats":         {oi.FormatJSON, oi.FormatXML},
	"methods":         {oi.MethodURL, oi.MethodEmail},
	"triggerStatuses": {oi.TriggerActive, oi.TriggerTest, oi.TriggerDisabled},
	"kinds":           oi.TemplateKinds,
	"templateFormats": {oi.FormatJSON, oi.FormatXML, oi.FormatText},
}

type option struct{ Value, Label string }

// options loads the option sets a page needs, each from the API once.
type options struct {
	h    *hq
	c    *gin.Context
	sets map[string][]option
}

func (h *hq) options(c *gin.Context) *options {
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
		kind, filter, _ := strings.Cut(name, ":")
		_, items := o.h.names(o.c, "/v1/admin/"+kind)
		for _, it := range items {
			k := str(it["kind"])
			if filter == "" || k == filter || (filter == "postback" && (k == oi.KindWebhook || k == oi.KindEmail)) {
				label := str(it["name"])
				if k != "" {
					label += " (" + k + ")"
				}
				out = append(out, option{str(it["id"]), label})
			}
		}
	}
	o.sets[name] = out
	return out
}

// name shows an id by its option label.
func (o *options) name(set string, id any) string {
	for _, op := range o.get(set) {
		if op.Value == str(id) {
			return op.Label
		}
	}
	return str(id)
}

func (h *hq) resourceRoutes(g *gin.RouterGroup, res *hqResource) {
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

// pageState is what a resource page shows besides the rows themselves.
type pageState struct {
	Problem *problem
	Values  map[string]string // the form as submitted, shown again after a problem
	Secret  string            // a key or signing secret, shown once
	Notice  string
	Result  obj
}

func (h *hq) resourceList(c *gin.Context, res *hqResource, status int, st *pageState, values map[string]string) {
	opts := h.options(c)
	var l list
	p := h.call(c, http.MethodGet, res.API, nil, &l)
	rows := make([][]string, 0, len(l.Items))
	ids := make([]string, 0, len(l.Items))
	for _, it := range l.Items {
		row := make([]string, len(res.Columns))
		for i, col := range res.Columns {
			switch {
			case col.Names != "":
				row[i] = opts.name(col.Names, it[col.Key])
			case strings.HasSuffix(col.Key, "At"):
				row[i] = fmtTime(it[col.Key])
			default:
				row[i] = str(it[col.Key])
			}
		}
		rows = append(rows, row)
		ids = append(ids, str(it["id"]))
	}
	if values == nil {
		values = defaults(res)
	}
	data := gin.H{"Res": res, "Rows": rows, "IDs": ids, "Form": formFields(res, opts, values, true), "Title": res.Title}
	if p != nil {
		data["Problem"], status = p, p.Status
	}
	if st != nil && st.Problem != nil {
		data["Problem"], status = st.Problem, st.Problem.Status
	}
	h.page(c, status, "resources", data)
}

func defaults(res *hqResource) map[string]string {
	out := map[string]string{}
	for _, f := range res.Fields {
		out[f.Key] = f.Default
	}
	return out
}

// formField is a field ready for the template: its value and options.
type formField struct {
	hqField
	Value   string
	Choices []option
	Locked  bool
}

func formFields(res *hqResource, opts *options, values map[string]string, create bool) []formField {
	out := make([]formField, 0, len(res.Fields))
	for _, f := range res.Fields {
		ff := formField{hqField: f, Value: values[f.Key], Locked: f.CreateOnly && !create}
		if f.Kind == "select" {
			ff.Choices = opts.get(f.Options)
		}
		out = append(out, ff)
	}
	return out
}

// formBody turns the submitted form into the API's JSON body.
func formBody(c *gin.Context, fields []hqField, create bool) (map[string]any, *problem) {
	body := map[string]any{}
	for _, f := range fields {
		if f.CreateOnly && !create {
			continue
		}
		v := c.PostForm(f.Key)
		switch f.Kind {
		case "checkbox":
			body[f.Key] = v != ""
		case "number":
			if strings.TrimSpace(v) == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return nil, &problem{Status: 422, Title: "Unprocessable Entity", Field: f.Key, Detail: f.Label + " must be a whole number"}
			}
			body[f.Key] = n
		case "lines":
			body[f.Key] = nonEmptyLines(v)
		case "headers":
			m := map[string]string{}
			for i, line := range nonEmptyLines(v) {
				k, val, ok := strings.Cut(line, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return nil, &problem{Status: 422, Title: "Unprocessable Entity", Field: f.Key,
						Detail: f.Label + " line " + strconv.Itoa(i+1) + " must look like Name: value"}
				}
				m[strings.TrimSpace(k)] = strings.TrimSpace(val)
			}
			body[f.Key] = m
		case "password":
			if v != "" {
				body[f.Key] = v
			}
		default:
			body[f.Key] = v
		}
	}
	return body, nil
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
func submitted(c *gin.Context, fields []hqField) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		out[f.Key] = c.PostForm(f.Key)
	}
	return out
}

// valuesOf turns an API object into form values.
func valuesOf(fields []hqField, o obj) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		v := o[f.Key]
		switch f.Kind {
		case "checkbox":
			if truthy(v) {
				out[f.Key] = "on"
			}
		case "lines":
			var parts []string
			if l, ok := v.([]any); ok {
				for _, e := range l {
					parts = append(parts, str(e))
				}
			}
			out[f.Key] = strings.Join(parts, "\n")
		case "headers":
			var lines []string
			for _, r := range headerRows(v) {
				lines = append(lines, r.Name+": "+r.Value)
			}
			out[f.Key] = strings.Join(lines, "\n")
		case "password":
		default:
			out[f.Key] = str(v)
		}
	}
	return out
}

func (h *hq) resourceCreate(c *gin.Context, res *hqResource) {
	body, p := formBody(c, res.Fields, true)
	var out obj
	if p == nil {
		if res.Rows {
			body["rows"] = []any{}
		}
		p = h.call(c, http.MethodPost, res.API, body, &out)
	}
	if p != nil {
		h.resourceList(c, res, p.Status, &pageState{Problem: p}, submitted(c, res.Fields))
		return
	}
	if s := str(out["secret"]); s != "" {
		c.Params = append(c.Params, gin.Param{Key: "id", Value: str(out["id"])})
		h.resourceShow(c, res, http.StatusCreated, &pageState{Secret: s, Notice: "Created. Copy the signing secret now: it is shown only once."}, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(str(out["id"]))+"?notice=created")
}

func (h *hq) resourceShow(c *gin.Context, res *hqResource, status int, st *pageState, values map[string]string) {
	var o obj
	if p := h.call(c, http.MethodGet, res.API+"/"+url.PathEscape(c.Param("id")), nil, &o); p != nil {
		h.fail(c, p)
		return
	}
	opts := h.options(c)
	if values == nil {
		values = valuesOf(res.Fields, o)
	}
	data := gin.H{"Res": res, "O": o, "Form": formFields(res, opts, values, false), "Title": res.Singular + " " + str(o["name"])}
	if res.Keys {
		var keys list
		_ = h.call(c, http.MethodGet, res.API+"/"+url.PathEscape(c.Param("id"))+"/keys", nil, &keys)
		data["Keys"] = keys.Items
	}
	if res.Rows {
		data["LookupRows"] = lookupRows(o["rows"])
	}
	if res.Name == "triggers" {
		data["Postbacks"] = "/hq/postbacks?triggerId=" + url.QueryEscape(str(o["id"]))
	}
	if st != nil {
		if st.Problem != nil {
			data["Problem"], status = st.Problem, st.Problem.Status
		}
		if st.Secret != "" {
			data["Secret"] = st.Secret
		}
		if st.Notice != "" {
			data["Notice"] = st.Notice
		}
		if st.Result != nil {
			data["Result"] = st.Result
		}
	}
	h.page(c, status, "resource", data)
}

// lookupRows shows a lookup's rows whether the API gives them as an object
// or as a list of {key, value}.
func lookupRows(v any) []headerRow {
	switch x := v.(type) {
	case map[string]any:
		return headerRows(x)
	case []any:
		out := make([]headerRow, 0, len(x))
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, headerRow{str(m["key"]), str(m["value"])})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	return nil
}

func (h *hq) resourceUpdate(c *gin.Context, res *hqResource) {
	body, p := formBody(c, res.Fields, false)
	if p == nil {
		p = h.call(c, res.Update, res.API+"/"+url.PathEscape(c.Param("id")), body, nil)
	}
	if p != nil {
		h.resourceShow(c, res, p.Status, &pageState{Problem: p}, submitted(c, res.Fields))
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(c.Param("id"))+"?notice=saved")
}

func (h *hq) createKey(c *gin.Context, res *hqResource) {
	var k obj
	if p := h.call(c, http.MethodPost, res.API+"/"+url.PathEscape(c.Param("id"))+"/keys", nil, &k); p != nil {
		h.resourceShow(c, res, p.Status, &pageState{Problem: p}, nil)
		return
	}
	h.resourceShow(c, res, http.StatusCreated, &pageState{Secret: str(k["key"]),
		Notice: "Key created. Copy it now: it is shown only once and stored hashed."}, nil)
}

func (h *hq) revokeKey(c *gin.Context, res *hqResource) {
	path := res.API + "/" + url.PathEscape(c.Param("id")) + "/keys/" + url.PathEscape(c.Param("keyId"))
	if p := h.call(c, http.MethodDelete, path, nil, nil); p != nil {
		h.resourceShow(c, res, p.Status, &pageState{Problem: p}, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(c.Param("id"))+"?notice=revoked")
}

func (h *hq) resourceAction(c *gin.Context, res *hqResource, a hqAction) {
	var out obj
	if p := h.call(c, http.MethodPost, res.API+"/"+url.PathEscape(c.Param("id"))+"/"+a.Path, map[string]any{}, &out); p != nil {
		h.resourceShow(c, res, p.Status, &pageState{Problem: p}, nil)
		return
	}
	if a.ShowPostback && str(out["id"]) != "" {
		c.Redirect(http.StatusSeeOther, "/hq/postbacks/"+url.PathEscape(str(out["id"]))+"?notice=tested")
		return
	}
	st := &pageState{Notice: a.Notice, Result: out}
	if a.Secret {
		st = &pageState{Secret: str(out["secret"]), Notice: "New signing secret: copy it now, it is shown only once. The old one keeps signing for 24 hours."}
	}
	h.resourceShow(c, res, http.StatusOK, st, nil)
}

func (h *hq) importRows(c *gin.Context, res *hqResource) {
	csv := c.PostForm("csv")
	if strings.TrimSpace(csv) == "" {
		h.resourceShow(c, res, 422, &pageState{Problem: &problem{Status: 422, Title: "Unprocessable Entity", Field: "csv",
			Detail: "paste rows as CSV: key,value per line"}}, nil)
		return
	}
	if p := h.call(c, http.MethodPost, res.API+"/"+url.PathEscape(c.Param("id"))+"/rows", csvBody(csv), nil); p != nil {
		h.resourceShow(c, res, p.Status, &pageState{Problem: p}, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/"+res.Name+"/"+url.PathEscape(c.Param("id"))+"?notice=imported")
}

// ---- templates: list, editor with Render

var templateFields = []hqField{
	{Key: "name", Kind: "text"}, {Key: "kind", Kind: "select"}, {Key: "format", Kind: "select"},
	{Key: "subject", Kind: "text"}, {Key: "body", Kind: "textarea"}, {Key: "strict", Kind: "checkbox"},
}

func (h *hq) templates(c *gin.Context) {
	var l list
	data := gin.H{"Title": "Templates"}
	if p := h.call(c, http.MethodGet, "/v1/admin/templates", nil, &l); p != nil {
		h.fail(c, p)
		return
	}
	data["Items"] = l.Items
	h.page(c, http.StatusOK, "templates", data)
}

// editor is the template editor page's state.
type editor struct {
	ID       string
	Values   map[string]string
	Versions []obj
	Problem  *problem
	Output   string
	Rendered bool
	Subject  string // an e-mail template's rendered subject
	Warnings []any  // the render's warnings ({line, column, message})
	Input    string
	Customer string
	OrderID  string // render against this real order
	Impact   *impactView
	Ctx      *editorContext
}

func (h *hq) showEditor(c *gin.Context, status int, e *editor) {
	if e.Problem != nil && e.Problem.Status != 0 {
		status = e.Problem.Status
	}
	opts := h.options(c)
	title := "New template"
	if e.ID != "" {
		title = "Template " + e.Values["name"]
	}
	mark := 0
	if e.Problem != nil && e.Problem.Where != "output" {
		mark = e.Problem.Line
	}
	e.Ctx = h.editorContext(c.Request.Context(), e)
	h.page(c, status, "template", gin.H{"Active": "templates", "Title": title, "E": e, "Kinds": staticOptions["kinds"],
		"Formats": staticOptions["templateFormats"], "Customers": opts.get("customers"), "Problem": e.Problem, "Mark": mark})
}

func (h *hq) newTemplate(c *gin.Context) {
	h.showEditor(c, http.StatusOK, &editor{Values: map[string]string{"kind": oi.KindIntake, "format": oi.FormatJSON},
		Input: sampleInput(oi.KindIntake)})
}

func (h *hq) editTemplate(c *gin.Context) {
	var t obj
	id := c.Param("id")
	if p := h.call(c, http.MethodGet, "/v1/admin/templates/"+url.PathEscape(id), nil, &t); p != nil {
		h.fail(c, p)
		return
	}
	e := &editor{ID: id, Values: valuesOf(templateFields, t), Input: sampleInput(str(t["kind"]))}
	var vs list
	_ = h.call(c, http.MethodGet, "/v1/admin/templates/"+url.PathEscape(id)+"/versions", nil, &vs)
	e.Versions = vs.Items
	// ?version=N loads an older version into the editor; saving it makes it
	// current again (a rollback that keeps the history).
	if v := c.Query("version"); v != "" {
		for _, old := range vs.Items {
			if str(old["version"]) == v {
				e.Values["body"], e.Values["subject"], e.Values["format"] = str(old["body"]), str(old["subject"]), str(old["format"])
				e.Values["strict"] = ""
				if truthy(old["strict"]) {
					e.Values["strict"] = "on"
				}
			}
		}
	}
	h.showEditor(c, http.StatusOK, e)
}

func (h *hq) templateBody(c *gin.Context) map[string]any {
	return map[string]any{"name": c.PostForm("name"), "kind": c.PostForm("kind"), "format": c.PostForm("format"),
		"body": c.PostForm("body"), "subject": c.PostForm("subject"), "strict": c.PostForm("strict") == "on"}
}

func (h *hq) editorFromForm(c *gin.Context) *editor {
	e := &editor{ID: c.PostForm("id"), Values: submitted(c, templateFields), Input: c.PostForm("input"), Customer: c.PostForm("customerId"),
		OrderID: c.PostForm("orderId")}
	if c.Param("id") != "" {
		e.ID = c.Param("id")
	}
	if e.ID != "" {
		var vs list
		_ = h.call(c, http.MethodGet, "/v1/admin/templates/"+url.PathEscape(e.ID)+"/versions", nil, &vs)
		e.Versions = vs.Items
	}
	return e
}

func (h *hq) createTemplate(c *gin.Context) {
	var out obj
	if p := h.call(c, http.MethodPost, "/v1/admin/templates", h.templateBody(c), &out); p != nil {
		e := h.editorFromForm(c)
		e.Problem = p
		h.showEditor(c, p.Status, e)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/templates/"+url.PathEscape(str(out["id"]))+"?notice=created")
}

func (h *hq) saveTemplate(c *gin.Context) {
	if p := h.call(c, http.MethodPut, "/v1/admin/templates/"+url.PathEscape(c.Param("id")), h.templateBody(c), nil); p != nil {
		e := h.editorFromForm(c)
		e.Problem = p
		h.showEditor(c, p.Status, e)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/templates/"+url.PathEscape(c.Param("id"))+"?notice=saved")
}

// renderTemplate renders the editor's (unsaved) body over the sample input
// and shows the output, or the error with its line marked.
func (h *hq) renderTemplate(c *gin.Context) {
	e := h.editorFromForm(c)
	var input any
	if strings.TrimSpace(e.Input) != "" {
		if err := json.Unmarshal([]byte(e.Input), &input); err != nil {
			e.Problem = &problem{Status: 422, Title: "Unprocessable Entity", Field: "input", Where: "input",
				Detail: "the sample input must be JSON: " + err.Error()}
			h.showEditor(c, 422, e)
			return
		}
	}
	body := map[string]any{"body": e.Values["body"], "format": e.Values["format"], "kind": e.Values["kind"],
		"strict": e.Values["strict"] == "on"}
	if input != nil {
		body["input"] = input // none: a postback template renders over its event's documented sample
	}
	if e.Customer != "" {
		body["customerId"] = e.Customer
	}
	if e.OrderID != "" {
		// A real past order as input (its original request), instead of the sample.
		delete(body, "input")
		body["orderId"] = e.OrderID
	}
	var out obj
	if p := h.call(c, http.MethodPost, "/v1/admin/templates/render", body, &out); p != nil {
		e.Problem = p
		h.showEditor(c, http.StatusOK, e)
		return
	}
	e.Rendered, e.Output, e.Subject = true, str(out["output"]), str(out["subject"])
	e.Warnings, _ = out["warnings"].([]any)
	h.showEditor(c, http.StatusOK, e)
}

// sampleInput is the editor's starting input: an order body for intake and
// cancel templates; nothing for postback templates, which then render over
// the documented sample of an event.
func sampleInput(kind string) string {
	if kind == oi.KindWebhook || kind == oi.KindEmail || kind == oi.KindSubmitResponse || kind == oi.KindCancelResponse {
		return "" // the documented sample context
	}
	return "{\n  \"orderReferenceId\": \"1001\",\n  \"items\": [{\"sku\": \"MUG-WHITE\", \"quantity\": 2}]\n}"
}

// rollbackTemplate makes an old version current again (as a new version).
func (h *hq) rollbackTemplate(c *gin.Context) {
	v, err := strconv.Atoi(c.PostForm("version"))
	if err != nil {
		h.fail(c, &problem{Status: 422, Title: "Unprocessable Entity", Field: "version", Detail: "version must be a version number"})
		return
	}
	id := url.PathEscape(c.Param("id"))
	if p := h.call(c, http.MethodPost, "/v1/admin/templates/"+id+"/rollback", map[string]any{"version": v}, nil); p != nil {
		h.fail(c, p)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/templates/"+id+"?notice=rolledback")
}

// ---- settings: the work settings' SMTP server

var smtpFields = []hqField{
	{Key: "fromAddress", Label: "From address", Kind: "text"},
	{Key: "fromName", Label: "From name", Kind: "text"},
	{Key: "host", Label: "Host", Kind: "text"},
	{Key: "port", Label: "Port", Kind: "number"},
	{Key: "username", Label: "Username", Kind: "text"},
	{Key: "password", Label: "Password", Kind: "password", Help: "write-only: leave empty to keep the current one (a change of host, port or username drops it)"},
	{Key: "tls", Label: "TLS", Kind: "checkbox"},
	{Key: "allowPlainAuth", Label: "Allow AUTH without TLS", Kind: "checkbox", Help: "only for a relay on a trusted network: the username and password travel in clear"},
}

func (h *hq) settings(c *gin.Context) { h.showSettings(c, http.StatusOK, nil, nil) }

func (h *hq) showSettings(c *gin.Context, status int, p *problem, values map[string]string) {
	h.showSettingsWith(c, status, p, values, nil)
}

func (h *hq) showSettingsWith(c *gin.Context, status int, p *problem, values map[string]string, data gin.H) {
	var o obj
	if data == nil {
		data = gin.H{}
	}
	data["Title"] = "Settings"
	if a, ap := h.alertSettings(c); ap == nil {
		data["Alerts"] = a
	} else if p == nil {
		p = ap
	}
	if gp := h.call(c, http.MethodGet, "/v1/admin/settings/smtp", nil, &o); gp != nil && p == nil {
		p = gp
	}
	if values == nil {
		values = valuesOf(smtpFields, o)
	}
	form := make([]formField, 0, len(smtpFields))
	for _, f := range smtpFields {
		form = append(form, formField{hqField: f, Value: values[f.Key]})
	}
	data["Form"], data["O"] = form, o
	if p != nil {
		data["Problem"], status = p, p.Status
	}
	h.page(c, status, "settings", data)
}

func (h *hq) saveSettings(c *gin.Context) {
	body, p := formBody(c, smtpFields, true)
	if p == nil {
		p = h.call(c, http.MethodPut, "/v1/admin/settings/smtp", body, nil)
	}
	if p != nil {
		h.showSettings(c, p.Status, p, submitted(c, smtpFields))
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/settings?notice=saved")
}
