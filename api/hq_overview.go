package api

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/charts"
	"orderintake/impact"
	"orderintake/mapper"
	"orderintake/overview"
	"orderintake/store"
	editorbundle "orderintake/web/editor"
)

// Issue 15: the overview page (/hq/), the code editor's bundle, the
// variables panel, rendering against real orders, the impact preview and
// the alert settings. The overview and the preview read typed results
// from their packages (overview, impact) rather than the JSON API: they
// are views over many rows, not actions.

// editorAsset serves the editor bundle (web/editor) from the binary.
func (h *hq) editorAsset(c *gin.Context) {
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
func (h *hq) favicon(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">`+
		`<rect width="16" height="16" rx="3" fill="#18202f"/><path d="M4 11V5h2.2l1.8 3.2L9.8 5H12v6h-1.8V8.1L8 11.4 5.8 8.1V11z" fill="#7ea2ff"/></svg>`))
}

// apiMillis shows a duration the API gives in milliseconds: under 1 ms is
// "<1 ms", not "0 ms" (which reads as "not measured").
func apiMillis(v any) string {
	if f, ok := v.(float64); ok {
		return charts.Millis(f)
	}
	if v == nil {
		return "—"
	}
	return str(v) + " ms"
}

// ---- overview

type overviewPage struct {
	Span, Customer string
	O              *overview.Overview
	Chart          template.HTML
	Orders, Failed int
	FailureRate    string
	FailureMeter   template.HTML
	PostbackRate   string
	PostbackMeter  template.HTML
	IntakeP50      string
	IntakeP95      string
	PostbackP50    string
	PostbackP95    string
	Customers      []customerRow
	AsOf           string
	TookMs         string
}

type customerRow struct {
	store.CustomerSummary
	Rate string
}

func (h *hq) overviewPage(c *gin.Context) {
	span, spanName := overview.Day, "24h"
	if c.Query("span") == "7d" {
		span, spanName = overview.Week, "7d"
	}
	customer := strings.TrimSpace(c.Query("customerId"))
	if c.Query("refresh") == "1" {
		h.overview.Refresh()
	}
	o, err := h.overview.Get(c.Request.Context(), span, customer)
	if err != nil {
		h.s.log.Error("hq overview", "error", err)
		h.fail(c, &problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable",
			Detail: "the overview could not be computed right now (the database did not answer): try again shortly"})
		return
	}
	v := &overviewPage{Span: spanName, Customer: customer, O: o, AsOf: o.ComputedAt.UTC().Format("15:04:05 UTC"),
		TookMs: charts.Millis(o.TookMs)}
	buckets := charts.Hourly(o.From, o.To, func(yield func(time.Time, string, int)) {
		for _, hc := range o.Hourly {
			yield(hc.Hour, hc.Status, hc.Count)
		}
	})
	title := "Orders per hour by status, last 24 hours"
	labelEvery, layout := 3, "15h"
	if span == overview.Week {
		title, labelEvery, layout = "Orders per hour by status, last 7 days", 24, "Mon 02"
	}
	v.Chart = charts.StackedBars("orders-chart", title, buckets, labelEvery, layout)
	v.Orders, v.Failed = o.Orders()
	rate, known := 0.0, v.Orders > 0
	if known {
		rate = float64(v.Failed) / float64(v.Orders)
	}
	v.FailureRate, v.FailureMeter = charts.Percent(rate, known), charts.Meter("failure-meter", rate, known, false)
	pr, pk := o.Postbacks.SuccessRate()
	v.PostbackRate, v.PostbackMeter = charts.Percent(pr, pk), charts.Meter("postback-meter", pr, pk, true)
	lat := func(l store.Latency, p float64) string {
		if l.N == 0 {
			return "—"
		}
		return charts.Millis(p)
	}
	v.IntakeP50, v.IntakeP95 = lat(o.Latency.IntakeToPrinter, o.Latency.IntakeToPrinter.P50), lat(o.Latency.IntakeToPrinter, o.Latency.IntakeToPrinter.P95)
	v.PostbackP50, v.PostbackP95 = lat(o.Latency.EventToPostback, o.Latency.EventToPostback.P50), lat(o.Latency.EventToPostback, o.Latency.EventToPostback.P95)
	for _, cs := range o.Customers {
		v.Customers = append(v.Customers, customerRow{CustomerSummary: cs, Rate: charts.Percent(cs.FailureRate(), cs.Orders > 0)})
	}
	names, _ := h.names(c, "/v1/admin/customers")
	opts := make([]option, 0, len(names))
	for id, n := range names {
		opts = append(opts, option{Value: id, Label: n})
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].Label < opts[j].Label })
	h.page(c, http.StatusOK, "overview", gin.H{"Title": "Overview", "Active": "", "V": v, "CustomerOptions": opts})
}

// ---- the template editor: variables, real orders, impact preview

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
// variables of the template's kind (from the customer's last real order
// for intake and cancel templates, else the documented sample) and the
// customer's recent orders to render against.
type editorContext struct {
	Variables    []variable
	VariablesFor string
	Orders       []orderChoice
	Diagnostics  string // JSON [{line, column, message}] for the editor's gutter
}

type orderChoice struct{ ID, Label string }

func (h *hq) editorContext(ctx context.Context, e *editor) *editorContext {
	ec := &editorContext{}
	kind := e.Values["kind"]
	var custOrders []*oi.OrderRequest
	var cust *oi.Customer
	if e.Customer != "" {
		if cu, err := h.s.Store.GetCustomer(ctx, e.Customer); err == nil {
			cust = cu
			custOrders, _, _ = h.s.Store.ListOrderRequests(ctx, store.ListFilter{CustomerID: cu.ID, Limit: 20})
		}
	}
	for _, o := range custOrders {
		if o.Status == oi.StatusRejected {
			continue
		}
		ec.Orders = append(ec.Orders, orderChoice{ID: o.ID, Label: o.OrderReferenceID + " · " + o.ReceivedAt.UTC().Format("02 Jan 15:04") + " · " + o.Status})
	}
	switch kind {
	case oi.KindWebhook, oi.KindEmail:
		ev := "shipped"
		data, _ := mapper.SamplePostbackContext(ev)
		ec.Variables, ec.VariablesFor = variablesOf(data), "the documented sample of a "+ev+" event (every event has the same keys)"
	default:
		ec.VariablesFor = "the sample order"
		var body any
		_ = json.Unmarshal([]byte(sampleInput(oi.KindIntake)), &body)
		info := mapper.CustomerInfo{ID: "cus_sample", Name: "Sample shop", ReferenceID: "sample"}
		if cust != nil {
			info = mapper.CustomerInfo{ID: cust.ID, Name: cust.Name, ReferenceID: cust.ReferenceID}
			for _, s := range ec.Orders {
				o, err := h.s.Store.GetOrderRequest(ctx, s.ID)
				if err != nil {
					continue
				}
				if b, _, err := mapper.ParseInput(o.Original.ContentType, o.Original.Body); err == nil {
					body, ec.VariablesFor = b, "the last real order of "+cust.Name+" ("+o.OrderReferenceID+")"
					break
				}
			}
		}
		ec.Variables = variablesOf(mapper.IntakeContext(body, map[string][]string{}, info, time.Now()))
	}
	var diags []map[string]any
	for _, w := range e.Warnings {
		if m, ok := w.(map[string]any); ok {
			diags = append(diags, map[string]any{"line": m["line"], "column": m["column"], "message": str(m["message"])})
		}
	}
	if b, err := json.Marshal(diags); err == nil && len(diags) > 0 {
		ec.Diagnostics = string(b)
	}
	return ec
}

// impactPreview runs the editor's draft over the customer's last real
// orders (or postbacks) and shows the result on the editor page.
func (h *hq) impactPreview(c *gin.Context) {
	e := h.editorFromForm(c)
	ctx := c.Request.Context()
	t, err := h.s.Store.GetTemplate(ctx, e.ID)
	if err != nil {
		h.fail(c, &problem{Status: 404, Title: "Not Found", Detail: "template " + e.ID + " not found"})
		return
	}
	if e.Customer == "" {
		// The customers whose orders this template renders: the first one.
		if cs, err := h.s.Store.ListCustomers(ctx); err == nil {
			for _, cu := range cs {
				if cu.IntakeTemplateID == t.ID || cu.CancelTemplateID == t.ID {
					e.Customer = cu.ID
					break
				}
			}
			if e.Customer == "" && (t.Kind == oi.KindWebhook || t.Kind == oi.KindEmail) {
				for _, cu := range cs {
					if trs, err := h.s.Store.ListTriggers(ctx, cu.ID); err == nil {
						for _, tr := range trs {
							if tr.TemplateID == t.ID && e.Customer == "" {
								e.Customer = cu.ID
							}
						}
					}
				}
			}
		}
	}
	draft := mapper.Template{Format: mapper.Format(e.Values["format"]), Body: e.Values["body"], Strict: e.Values["strict"] == "on"}
	if err := h.s.Mapper.Check(draft); err != nil {
		e.Problem = renderProblem(err)
		h.showEditor(c, http.StatusOK, e)
		return
	}
	rep, err := impact.Run(ctx, h.s.Store, h.s.Mapper, impact.Request{Template: t, Draft: draft, CustomerID: e.Customer})
	if err != nil {
		if oi.ErrorCode(err) == oi.EINVALID {
			e.Problem = &problem{Status: 422, Title: "Unprocessable Entity", Field: "customerId", Detail: "choose the customer whose orders the preview runs over"}
		} else {
			h.s.log.Error("hq impact preview", "template", t.ID, "error", err)
			e.Problem = &problem{Status: 503, Title: "Service Unavailable", Detail: "the preview could not read the orders right now: try again shortly"}
		}
		h.showEditor(c, http.StatusOK, e)
		return
	}
	e.Impact = &impactView{Report: rep}
	for _, it := range rep.Items {
		e.Impact.Items = append(e.Impact.Items, impactItem{Item: it, Took: charts.Millis(it.DraftMs)})
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

// renderProblem is a mapper error as the editor shows it.
func renderProblem(err error) *problem {
	p := &problem{Status: 422, Title: "Unprocessable Entity", Detail: err.Error()}
	if me, ok := err.(*mapper.Error); ok {
		p.Kind, p.Where, p.Line, p.Column, p.Excerpt, p.Detail = string(me.Kind), me.Where, me.Line, me.Column, me.Excerpt, me.Message
	}
	return p
}

// ---- settings: operator alerts

func (h *hq) alertSettings(c *gin.Context) (obj, *problem) {
	var o obj
	p := h.call(c, http.MethodGet, "/v1/admin/settings/alerts", nil, &o)
	return o, p
}

func (h *hq) saveAlertSettings(c *gin.Context) {
	body := map[string]any{"enabled": c.PostForm("enabled") == "on", "webhookUrl": strings.TrimSpace(c.PostForm("webhookUrl")),
		"rotateSecret": c.PostForm("rotateSecret") == "on"}
	var emails []string
	for _, e := range strings.FieldsFunc(c.PostForm("emails"), func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' }) {
		emails = append(emails, e)
	}
	body["emails"] = emails
	for _, k := range []string{"triggerFailures", "printerFailures"} {
		if v := strings.TrimSpace(c.PostForm(k)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				h.showSettings(c, 422, &problem{Status: 422, Title: "Unprocessable Entity", Field: k, Detail: k + " must be a number"}, nil)
				return
			}
			body[k] = n
		}
	}
	var out obj
	if p := h.call(c, http.MethodPut, "/v1/admin/settings/alerts", body, &out); p != nil {
		h.showSettings(c, p.Status, p, nil)
		return
	}
	if s := str(out["secret"]); s != "" {
		// Shown once, like a trigger's secret: the page answers it now.
		h.showSettingsWith(c, http.StatusOK, nil, nil, gin.H{"AlertSecret": s, "Notice": "Saved. Copy the alert webhook's signing secret now: it is not shown again."})
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/settings?notice=saved#alerts")
}

// overviewLink builds a filtered list link for the overview's "failing now".
func overviewLink(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return path + "?" + q.Encode()
}
