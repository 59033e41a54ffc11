package hq

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/service"
	"orderintake/workflows"
)

// ---- Requests and Postbacks views

// listFilter turns the HQ filter form into a list filter. Dates from
// <input type=date> are whole UTC days, "to" included; full RFC 3339 times
// pass through as they are.
func listFilter(c *gin.Context) (service.ListFilter, *Problem) {
	q := func(k string) string { return strings.TrimSpace(c.Query(k)) }
	f := service.ListFilter{CustomerID: q("customerId"), Status: q("status"), Event: q("event"), TriggerID: q("triggerId"),
		PrinterID: q("printerId"), Query: q("q"), Cursor: c.Query("cursor"), Limit: 50}
	for k, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		v := q(k)
		if v == "" {
			continue
		}
		t, err := parseDay(v, k == "to")
		if err != nil {
			return f, invalid(k, k+" must be a date like 2026-11-22 (or an RFC 3339 time)")
		}
		*dst = t
	}
	return f, nil
}

func parseDay(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04", v); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err == nil && end {
		t = t.AddDate(0, 0, 1)
	}
	return t, err
}

// filterForm is the filter form's own values, echoed as typed.
type filterForm struct {
	From, To, CustomerID, Status, Event, TriggerID, PrinterID, Q string
}

func filterValues(c *gin.Context) filterForm {
	return filterForm{From: c.Query("from"), To: c.Query("to"), CustomerID: c.Query("customerId"), Status: c.Query("status"),
		Event: c.Query("event"), TriggerID: c.Query("triggerId"), PrinterID: c.Query("printerId"), Q: c.Query("q")}
}

// nextPage is the link to the page after this one, same filters.
func nextPage(c *gin.Context, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := c.Request.URL.Query()
	q.Set("cursor", cursor)
	return c.Request.URL.Path + "?" + q.Encode()
}

// names maps ids to names (for tables) and lists them (for selects); a
// list that cannot be read leaves ids unnamed.
func (h *HQ) names(c *gin.Context, what string) (map[string]string, []service.Name) {
	list, err := h.Admin.Names(c.Request.Context(), what)
	if err != nil {
		h.log.Warn("hq names", "of", what, "error", err)
	}
	m := make(map[string]string, len(list))
	for _, n := range list {
		m[n.ID] = n.Name
	}
	return m, list
}

// listView is what both filtered lists show besides their rows.
type listView struct {
	Page
	Filter       filterForm
	Customers    map[string]string
	CustomerList []service.Name
	Statuses     []string
	Next         string
}

type requestsPage struct {
	listView
	Items []service.RequestSummary
}

func (h *HQ) requests(c *gin.Context) {
	v := &requestsPage{listView: listView{Page: Page{}, Filter: filterValues(c), Statuses: oi.OrderStatuses}}
	v.Customers, v.CustomerList = h.names(c, "customers")
	v.Items = loadList(h, c, &v.listView, func(f *service.ListFilter) {
		f.Event, f.TriggerID = "", "" // not filters of this list
	}, h.Views.Requests)
	h.render(c, v.status(), "requests", v)
}

// loadList reads one page of a list view for the request's filter (less
// what clear drops), setting the view's next link or its problem.
func loadList[T any](h *HQ, c *gin.Context, v *listView, clear func(*service.ListFilter),
	list func(context.Context, service.ListFilter) ([]T, string, error)) []T {
	f, p := listFilter(c)
	if p != nil {
		v.Problem = p
		return nil
	}
	clear(&f)
	items, next, err := list(c.Request.Context(), f)
	if err != nil {
		v.Problem = h.problem(c, err)
		return nil
	}
	v.Next = nextPage(c, next)
	return items
}

// status is the page's HTTP status: its problem's, or 200.
func (v *listView) status() int {
	if v.Problem != nil {
		return v.Problem.Status
	}
	return http.StatusOK
}

type postbacksPage struct {
	listView
	Items          []service.PostbackView
	Events         []string
	ResendStatuses []string
	Triggers       map[string]string
	TriggerList    []service.Name
}

func (h *HQ) postbacks(c *gin.Context) {
	v := &postbacksPage{listView: listView{Filter: filterValues(c), Statuses: oi.PostbackStatuses}, Events: oi.Events,
		ResendStatuses: service.ResendableStatuses}
	v.Triggers, v.TriggerList = h.names(c, "triggers")
	v.Customers, v.CustomerList = h.names(c, "customers")
	v.Items = loadList(h, c, &v.listView, func(f *service.ListFilter) {
		f.PrinterID = "" // not a filter of this list
	}, h.Views.Postbacks)
	h.render(c, v.status(), "postbacks", v)
}

// ---- one order

// stageError is a stored template error (stage 2) as the page shows it.
type stageError struct {
	Message, Where, Excerpt string
	Line, Column            int
}

// warning is one render warning ({line, column, message}).
type warning struct {
	Line, Column int
	Message      string
}

// rejection is what the client was told about a refused request.
type rejection struct {
	Status       int
	Code, Detail string
	Field        string
	Line, Column int
}

// processing is stage 2 with its error and warnings decoded.
type processing struct {
	service.ProcessingView
	Output   string
	Error    *stageError
	Warnings []warning
}

// response is stage 4 with its warnings decoded.
type response struct {
	*service.SystemResponseView
	Warnings []warning
}

type tryView struct {
	service.TryView
	TemplateProcessing processing
	SystemResponse     *response
}

type cancelView struct {
	service.CancelRequestView
	TemplateProcessing processing
	SystemResponse     *response
}

// requestView is the Requests view of one order, its stored JSON parts
// (errors, warnings, the rejection) decoded into types.
type requestView struct {
	*service.RequestDetail
	Name               string // the reference, else the id
	TemplateProcessing processing
	SystemResponse     *response
	Tries              []tryView
	CancelRequests     []cancelView
	Rejection          *rejection
}

type requestPage struct {
	Page
	O                                        *requestView
	Customers, Printers, Triggers, Templates map[string]string
	CanCancel, CanResubmit                   bool
}

// decodeJSON reads a stored JSON part into v; a part that does not parse
// is shown as missing (and logged), never as a page error.
func (h *HQ) decodeJSON(raw json.RawMessage, v any) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		h.log.Warn("hq: a stored JSON part does not parse", "error", err)
		return false
	}
	return true
}

func (h *HQ) processing(p service.ProcessingView) processing {
	out := processing{ProcessingView: p, Output: text(p.Output)}
	var e stageError
	if h.decodeJSON(p.Error, &e) {
		out.Error = &e
	}
	h.decodeJSON(p.Warnings, &out.Warnings)
	return out
}

func (h *HQ) response(r *service.SystemResponseView) *response {
	if r == nil {
		return nil
	}
	out := &response{SystemResponseView: r}
	h.decodeJSON(r.Warnings, &out.Warnings)
	return out
}

func (h *HQ) requestView(d *service.RequestDetail) *requestView {
	v := &requestView{RequestDetail: d, Name: d.OrderReferenceID, TemplateProcessing: h.processing(d.TemplateProcessing),
		SystemResponse: h.response(d.SystemResponse)}
	if v.Name == "" {
		v.Name = d.ID
	}
	for _, t := range d.Tries {
		v.Tries = append(v.Tries, tryView{TryView: t, TemplateProcessing: h.processing(t.TemplateProcessing),
			SystemResponse: h.response(t.SystemResponse)})
	}
	for _, cr := range d.CancelRequests {
		v.CancelRequests = append(v.CancelRequests, cancelView{CancelRequestView: cr,
			TemplateProcessing: h.processing(cr.TemplateProcessing), SystemResponse: h.response(cr.SystemResponse)})
	}
	var r rejection
	if h.decodeJSON(d.Rejection, &r) {
		v.Rejection = &r
	}
	return v
}

func (h *HQ) request(c *gin.Context) { h.showRequest(c, nil) }

// showRequest renders an order's page, with the problem of a button that
// did not go through (cancel, resubmit).
func (h *HQ) showRequest(c *gin.Context, p *Problem) {
	d, err := h.Views.Request(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	v := &requestPage{Page: Page{Title: "Order " + d.OrderReferenceID}, O: h.requestView(d),
		CanCancel: d.Status != oi.StatusRejected && !oi.ShippedOrLater(d.Status), CanResubmit: d.Status == oi.EventFailed}
	v.Customers, _ = h.names(c, "customers")
	v.Printers, _ = h.names(c, "printers")
	v.Triggers, _ = h.names(c, "triggers")
	v.Templates, _ = h.names(c, "templates")
	code := http.StatusOK
	if p != nil {
		v.Problem, code = p, p.Status
	}
	h.render(c, code, "request", v)
}

// cancelOrder is the "Cancel order" button (after its confirmation).
func (h *HQ) cancelOrder(c *gin.Context) {
	id := c.Param("id")
	ans, err := h.Life.Cancel(c.Request.Context(), "", id, workflows.CancelInput{Source: "admin"})
	if err != nil {
		h.showRequest(c, h.problem(c, err))
		return
	}
	notice := "canceled"
	if ans.Status == oi.StatusCancelPending {
		notice = "cancelpending"
	}
	c.Redirect(http.StatusSeeOther, "/hq/requests/"+url.PathEscape(id)+"?notice="+notice)
}

// resubmit is the "Resubmit" button of a failed order.
func (h *HQ) resubmit(c *gin.Context) {
	id := c.Param("id")
	if _, err := h.Life.Resubmit(c.Request.Context(), id); err != nil {
		h.showRequest(c, h.problem(c, err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/requests/"+url.PathEscape(id)+"?notice=resubmitted")
}

// bulkResubmit resubmits every failed order of a customer in a window (the
// form on the Requests list, filled from its filters).
func (h *HQ) bulkResubmit(c *gin.Context) {
	b := service.BulkResubmit{CustomerID: strings.TrimSpace(c.PostForm("customerId"))}
	for _, k := range []string{"from", "to"} {
		v := strings.TrimSpace(c.PostForm(k))
		t, err := parseDay(v, k == "to")
		if v == "" || err != nil {
			h.showProblem(c, invalid(k, k+" must be a date like 2026-11-22"))
			return
		}
		if k == "from" {
			b.From = t
		} else {
			b.To = t
		}
	}
	out, err := h.Life.ResubmitWindow(c.Request.Context(), b)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "error", &resultPage{Page: Page{Active: "requests", Title: "Bulk resubmit",
		Notice: fmt.Sprintf("%d failed orders resubmitted, %d skipped.", len(out.Resubmitted), len(out.Skipped))}, Result: out})
}

// ---- one postback

type postbackPage struct {
	Page
	P           *service.PostbackDetail
	Body        string
	RenderError *stageError
	Trigger     *oi.Trigger // nil when it cannot be read
}

func (h *HQ) postback(c *gin.Context) { h.showPostback(c, http.StatusOK, nil) }

func (h *HQ) showPostback(c *gin.Context, status int, p *Problem) {
	pb, err := h.Views.Postback(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	v := &postbackPage{Page: Page{Title: "Postback " + pb.Event + " of " + pb.OrderReferenceID}, P: pb, Body: text(pb.Body)}
	var re stageError
	if h.decodeJSON(pb.RenderError, &re) {
		v.RenderError = &re
	}
	if t, err := h.Admin.Trigger(c.Request.Context(), pb.TriggerID); err == nil {
		v.Trigger = t
	}
	if p != nil {
		v.Problem, status = p, p.Status
	}
	h.render(c, status, "postback", v)
}

func (h *HQ) resend(c *gin.Context) {
	if _, err := h.Admin.Resend(c.Request.Context(), c.Param("id")); err != nil {
		h.showPostback(c, http.StatusOK, h.problem(c, err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/postbacks/"+url.PathEscape(c.Param("id"))+"?notice=resent")
}

// bulkResend resends every postback of a time window and status (the form
// on the Postbacks page, filled from its filters).
func (h *HQ) bulkResend(c *gin.Context) {
	var b service.BulkResendInput
	for _, k := range []string{"from", "to"} {
		if v := strings.TrimSpace(c.PostForm(k)); v != "" {
			t, err := parseDay(v, k == "to")
			if err != nil {
				h.showProblem(c, invalid(k, k+" must be a date like 2026-11-22"))
				return
			}
			if k == "from" {
				b.From = t.Format(time.RFC3339)
			} else {
				b.To = t.Format(time.RFC3339)
			}
		}
	}
	b.Status, b.TriggerID = strings.TrimSpace(c.PostForm("status")), strings.TrimSpace(c.PostForm("triggerId"))
	out, err := h.Admin.BulkResend(c.Request.Context(), b)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "error", &resultPage{Page: Page{Active: "postbacks", Title: "Bulk resend",
		Notice: "Bulk resend started."}, Result: out})
}
