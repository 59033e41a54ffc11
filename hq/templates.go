package hq

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/charts"
	"orderintake/impact"
	"orderintake/mapper"
	"orderintake/service"
	editorbundle "orderintake/web/editor"
)

// ---- templates: list, editor with Render, versions, impact preview

type templatesPage struct {
	Page
	Items []*oi.Template
}

func (h *HQ) templates(c *gin.Context) {
	items, err := h.Admin.Templates(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "templates", &templatesPage{Page: Page{Title: "Templates"}, Items: items})
}

// templateFields are the editor's inputs, for submitted().
var templateFields = []field{
	{Key: "name", Kind: "text"}, {Key: "kind", Kind: "select"}, {Key: "format", Kind: "select"},
	{Key: "subject", Kind: "text"}, {Key: "body", Kind: "textarea"}, {Key: "strict", Kind: "checkbox"},
}

// editor is the template editor's state.
type editor struct {
	ID       string
	Values   map[string]string // name, kind, format, subject, body, strict ("on")
	Versions []*oi.TemplateVersion
	Problem  *Problem
	Output   string
	Rendered bool
	Subject  string // an e-mail template's rendered subject
	Warnings []mapper.Warning
	Input    string
	Customer string
	OrderID  string // render against this real order
	Impact   *impactView
	Ctx      *editorContext
}

type editorPage struct {
	Page
	E         *editor
	Kinds     []string
	Formats   []string
	Customers []option
	Mark      int // the body line the error is on (0: none)
}

func (h *HQ) showEditor(c *gin.Context, status int, e *editor) {
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
	e.Ctx = h.editorContext(c, e)
	h.render(c, status, "template", &editorPage{Page: Page{Active: "templates", Title: title, Problem: e.Problem}, E: e,
		Kinds: staticOptions["kinds"], Formats: staticOptions["templateFormats"], Customers: opts.get("customers"), Mark: mark})
}

func (h *HQ) newTemplate(c *gin.Context) {
	h.showEditor(c, http.StatusOK, &editor{Values: map[string]string{"kind": oi.KindIntake, "format": oi.FormatJSON},
		Input: sampleInput(oi.KindIntake)})
}

func strictValue(b bool) string {
	if b {
		return "on"
	}
	return ""
}

func (h *HQ) editTemplate(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	t, err := h.Admin.Template(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	e := &editor{ID: id, Values: map[string]string{"name": t.Name, "kind": t.Kind, "format": t.Format, "subject": t.Subject,
		"body": t.Body, "strict": strictValue(t.Strict)}, Input: sampleInput(t.Kind)}
	if e.Versions, err = h.Admin.TemplateVersions(ctx, id); err != nil {
		e.Problem = h.problem(c, err)
	}
	// ?version=N loads an older version into the editor; saving it makes it
	// current again (a rollback that keeps the history).
	if v := c.Query("version"); v != "" {
		for _, old := range e.Versions {
			if strconv.Itoa(old.Version) == v {
				e.Values["body"], e.Values["subject"], e.Values["format"] = old.Body, old.Subject, old.Format
				e.Values["strict"] = strictValue(old.Strict)
			}
		}
	}
	h.showEditor(c, http.StatusOK, e)
}

func templateInput(c *gin.Context) service.TemplateInput {
	strict := c.PostForm("strict") == "on"
	return service.TemplateInput{Name: c.PostForm("name"), Kind: c.PostForm("kind"), Format: c.PostForm("format"),
		Body: c.PostForm("body"), Subject: c.PostForm("subject"), Strict: &strict}
}

func (h *HQ) editorFromForm(c *gin.Context) *editor {
	e := &editor{ID: c.PostForm("id"), Values: submitted(c, templateFields), Input: c.PostForm("input"), Customer: c.PostForm("customerId"),
		OrderID: c.PostForm("orderId")}
	if c.Param("id") != "" {
		e.ID = c.Param("id")
	}
	if e.ID != "" {
		var err error
		if e.Versions, err = h.Admin.TemplateVersions(c.Request.Context(), e.ID); err != nil {
			h.log.Warn("hq: template versions", "template", e.ID, "error", err)
		}
	}
	return e
}

func (h *HQ) createTemplate(c *gin.Context) {
	t, err := h.Admin.CreateTemplate(c.Request.Context(), templateInput(c))
	if err != nil {
		e := h.editorFromForm(c)
		e.Problem = h.problem(c, err)
		h.showEditor(c, e.Problem.Status, e)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/templates/"+url.PathEscape(t.ID)+"?notice=created")
}

func (h *HQ) saveTemplate(c *gin.Context) {
	if _, err := h.Admin.UpdateTemplate(c.Request.Context(), c.Param("id"), templateInput(c)); err != nil {
		e := h.editorFromForm(c)
		e.Problem = h.problem(c, err)
		h.showEditor(c, e.Problem.Status, e)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/templates/"+url.PathEscape(c.Param("id"))+"?notice=saved")
}

// renderTemplate renders the editor's (unsaved) body over the sample input
// and shows the output, or the error with its line marked.
func (h *HQ) renderTemplate(c *gin.Context) {
	e := h.editorFromForm(c)
	body, strict := e.Values["body"], e.Values["strict"] == "on"
	in := service.RenderInput{Body: &body, Format: e.Values["format"], Kind: e.Values["kind"], Strict: &strict,
		CustomerID: e.Customer}
	if strings.TrimSpace(e.Input) != "" {
		var v any
		if err := json.Unmarshal([]byte(e.Input), &v); err != nil {
			e.Problem = &Problem{Status: 422, Title: "Unprocessable Entity", Field: "input", Where: "input",
				Detail: "the sample input must be JSON: " + err.Error()}
			h.showEditor(c, 422, e)
			return
		}
		if v != nil {
			in.Input = json.RawMessage(e.Input) // none: a postback template renders over its event's documented sample
		}
	}
	if e.OrderID != "" {
		// A real past order as input (its original request), instead of the sample.
		in.Input, in.OrderID = nil, e.OrderID
	}
	out, err := h.Admin.Render(c.Request.Context(), in)
	if err != nil {
		e.Problem = h.problem(c, err)
		h.showEditor(c, http.StatusOK, e)
		return
	}
	e.Rendered, e.Output, e.Subject, e.Warnings = true, out.Output, out.Subject, out.Warnings
	h.showEditor(c, http.StatusOK, e)
}

// sampleInput is the editor's starting input: an order body for intake and
// cancel templates; nothing for postback and response templates, which
// then render over the documented sample.
func sampleInput(kind string) string {
	if kind == oi.KindWebhook || kind == oi.KindEmail || kind == oi.KindSubmitResponse || kind == oi.KindCancelResponse {
		return ""
	}
	return service.SampleIntake
}

// rollbackTemplate makes an old version current again (as a new version).
func (h *HQ) rollbackTemplate(c *gin.Context) {
	v, err := strconv.Atoi(c.PostForm("version"))
	if err != nil {
		h.showProblem(c, invalid("version", "version must be a version number"))
		return
	}
	if _, err := h.Admin.RollbackTemplate(c.Request.Context(), c.Param("id"), v); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/templates/"+url.PathEscape(c.Param("id"))+"?notice=rolledback")
}

// ---- the editor's side panel: variables, real orders

// variable is one entry of the editor's variables panel.
type variable struct {
	Path, Sample, Insert string
}

// variablesOf lists the paths of a template context (maps and the first
// element of lists, up to depth 3) with a sample value, sorted.
func variablesOf(data map[string]any) []variable {
	var out []variable
	var walk func(prefix string, v any, depth int)
	walk = func(prefix string, v any, depth int) {
		switch x := v.(type) {
		case map[string]any:
			if depth > 0 {
				out = append(out, variable{Path: prefix, Sample: "{…}", Insert: "{{ " + prefix + " }}"})
			}
			if depth >= 3 {
				return
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x[k], depth+1)
			}
		case []any:
			out = append(out, variable{Path: prefix, Sample: fmt.Sprintf("[%d]", len(x)), Insert: "{% for it in " + prefix + " %}{% endfor %}"})
			if len(x) > 0 && depth < 3 {
				walk(prefix+"[0]", x[0], depth+1)
			}
		default:
			s := fmt.Sprint(x)
			if x == nil {
				s = "none"
			}
			if len(s) > 40 {
				s = s[:40] + "…"
			}
			out = append(out, variable{Path: prefix, Sample: s, Insert: "{{ " + prefix + " }}"})
		}
	}
	walk("", data, 0)
	return out
}

// editorContext is what the editor page shows beside the body: the
// variables of the template's kind and the customer's recent orders to
// render against.
type editorContext struct {
	Variables    []variable
	VariablesFor string
	Orders       []orderChoice
	Diagnostics  string // JSON [{line, column, message}] for the editor's gutter
}

type orderChoice struct{ ID, Label string }

func (h *HQ) editorContext(c *gin.Context, e *editor) *editorContext {
	sc := h.Admin.EditorContext(c.Request.Context(), e.Values["kind"], e.Customer)
	ec := &editorContext{Variables: variablesOf(sc.Data), VariablesFor: sc.From}
	for _, o := range sc.Orders {
		ec.Orders = append(ec.Orders, orderChoice{ID: o.ID, Label: o.OrderReferenceID + " · " + o.ReceivedAt.UTC().Format("02 Jan 15:04") + " · " + o.Status})
	}
	if len(e.Warnings) > 0 {
		if b, err := json.Marshal(e.Warnings); err == nil {
			ec.Diagnostics = string(b)
		}
	}
	return ec
}

// impactPreview runs the editor's draft over the customer's last real
// orders (or postbacks) and shows the result on the editor page.
func (h *HQ) impactPreview(c *gin.Context) {
	e := h.editorFromForm(c)
	rep, customer, err := h.Admin.ImpactPreview(c.Request.Context(), service.ImpactInput{TemplateID: e.ID, CustomerID: e.Customer,
		Format: e.Values["format"], Body: e.Values["body"], Strict: e.Values["strict"] == "on"})
	e.Customer = customer
	switch code := oi.ErrorCode(err); {
	case err == nil:
	case code == oi.ENOTFOUND:
		h.showProblem(c, &Problem{Status: 404, Title: "Not Found", Detail: "template " + e.ID + " not found"})
		return
	case code == oi.ETEMPLATE: // the draft does not compile
		e.Problem = h.problem(c, err)
		e.Problem.Field = ""
	case code == oi.EINVALID:
		e.Problem = invalid("customerId", "choose the customer whose orders the preview runs over")
	default:
		h.log.Error("hq impact preview", "template", e.ID, "error", err)
		e.Problem = &Problem{Status: 503, Title: "Service Unavailable", Detail: "the preview could not read the orders right now: try again shortly"}
	}
	if rep != nil {
		e.Impact = &impactView{Report: rep}
		for _, it := range rep.Items {
			e.Impact.Items = append(e.Impact.Items, impactItem{Item: it, Took: charts.Millis(it.DraftMs)})
		}
	}
	h.showEditor(c, http.StatusOK, e)
}

type impactView struct {
	*impact.Report
	Items []impactItem
}

type impactItem struct {
	impact.Item
	Took string
}

// editorAsset serves the editor bundle (web/editor) from the binary.
func (h *HQ) editorAsset(c *gin.Context) {
	b, ct, ok := editorbundle.Read(c.Param("file"))
	if !ok {
		c.Status(http.StatusNotFound)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, ct, b)
}

// favicon is the HQ's icon: linked from every page, so the browser does not
// ask for /favicon.ico (a 404 in the console).
func (h *HQ) favicon(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">`+
		`<rect width="16" height="16" rx="3" fill="#18202f"/><path d="M4 11V5h2.2l1.8 3.2L9.8 5H12v6h-1.8V8.1L8 11.4 5.8 8.1V11z" fill="#7ea2ff"/></svg>`))
}
