package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
)

// ---- Requests and Postbacks views

// listQuery turns the HQ filter form into the API's list query. Dates from
// <input type=date> are whole UTC days, "to" included; full RFC 3339 times
// pass through as they are.
func listQuery(c *gin.Context, keys ...string) (url.Values, *problem) {
	q := url.Values{}
	for _, k := range keys {
		if v := strings.TrimSpace(c.Query(k)); v != "" {
			q.Set(k, v)
		}
	}
	for _, k := range []string{"from", "to"} {
		v := strings.TrimSpace(c.Query(k))
		if v == "" {
			continue
		}
		t, err := parseDay(v, k == "to")
		if err != nil {
			return q, &problem{Status: 422, Title: "Unprocessable Entity", Field: k,
				Detail: k + " must be a date like 2026-11-22 (or an RFC 3339 time)"}
		}
		q.Set(k, t.Format(time.RFC3339Nano))
	}
	if v := c.Query("cursor"); v != "" {
		q.Set("cursor", v)
	}
	q.Set("limit", "50")
	return q, nil
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

// filterValues echoes the filter form's own values (not the API's).
func filterValues(c *gin.Context, keys ...string) gin.H {
	out := gin.H{}
	for _, k := range append(keys, "from", "to") {
		out[k] = c.Query(k)
	}
	return out
}

// nextPage is the link to the page after this one, same filters.
func nextPage(c *gin.Context, cursor *string) string {
	if cursor == nil {
		return ""
	}
	q := c.Request.URL.Query()
	q.Set("cursor", *cursor)
	return c.Request.URL.Path + "?" + q.Encode()
}

// names maps ids to names for one kind of config row, for tables and selects.
func (h *hq) names(c *gin.Context, path string) (map[string]string, []obj) {
	var l list
	if p := h.call(c, http.MethodGet, path, nil, &l); p != nil {
		return map[string]string{}, nil
	}
	m := make(map[string]string, len(l.Items))
	for _, it := range l.Items {
		m[str(it["id"])] = str(it["name"])
	}
	return m, l.Items
}

// listPage renders a filtered list page: the filter form's values, one page
// of the API's list, and the link to the next page.
func (h *hq) listPage(c *gin.Context, name, apiPath string, keys []string, data gin.H) {
	data["Filter"] = filterValues(c, keys...)
	data["Customers"], data["CustomerList"] = h.names(c, "/v1/admin/customers")
	q, p := listQuery(c, keys...)
	if p == nil {
		var l list
		if p = h.call(c, http.MethodGet, apiPath+"?"+q.Encode(), nil, &l); p == nil {
			data["Items"], data["Next"] = l.Items, nextPage(c, l.NextCursor)
		}
	}
	status := http.StatusOK
	if p != nil {
		data["Problem"], status = p, p.Status
	}
	h.page(c, status, name, data)
}

func (h *hq) requests(c *gin.Context) {
	h.listPage(c, "requests", "/v1/admin/requests", []string{"customerId", "status", "printerId", "q"}, gin.H{"Statuses": oi.OrderStatuses})
}

func (h *hq) request(c *gin.Context) {
	h.showRequest(c, nil)
}

// showRequest renders an order's page, with the problem of a button that
// did not go through (cancel, resubmit).
func (h *hq) showRequest(c *gin.Context, p *problem) {
	var o obj
	if p := h.call(c, http.MethodGet, "/v1/admin/requests/"+url.PathEscape(c.Param("id")), nil, &o); p != nil {
		h.fail(c, p)
		return
	}
	customers, _ := h.names(c, "/v1/admin/customers")
	printers, _ := h.names(c, "/v1/admin/printers")
	triggers, _ := h.names(c, "/v1/admin/triggers")
	templates, _ := h.names(c, "/v1/admin/templates")
	status := str(o["status"])
	data := gin.H{"O": o, "Customers": customers, "Printers": printers, "Triggers": triggers, "Templates": templates,
		"Title": "Order " + str(o["orderReferenceId"]), "CanCancel": status != oi.StatusRejected && !oi.ShippedOrLater(status),
		"CanResubmit": status == oi.EventFailed}
	code := http.StatusOK
	if p != nil {
		data["Problem"], code = p, p.Status
	}
	h.page(c, code, "request", data)
}

func (h *hq) postbacks(c *gin.Context) {
	data := gin.H{"Statuses": oi.PostbackStatuses, "Events": oi.Events,
		"ResendStatuses": []string{oi.PostbackFailed, oi.PostbackExhausted, oi.PostbackAborted, oi.PostbackDelivered}}
	data["Triggers"], data["TriggerList"] = h.names(c, "/v1/admin/triggers")
	h.listPage(c, "postbacks", "/v1/admin/postbacks", []string{"customerId", "status", "event", "triggerId", "q"}, data)
}

func (h *hq) postback(c *gin.Context) {
	h.showPostback(c, http.StatusOK, nil, nil)
}

func (h *hq) showPostback(c *gin.Context, status int, p *problem, result obj) {
	var pb obj
	if p := h.call(c, http.MethodGet, "/v1/admin/postbacks/"+url.PathEscape(c.Param("id")), nil, &pb); p != nil {
		h.fail(c, p)
		return
	}
	var trg obj
	_ = h.call(c, http.MethodGet, "/v1/admin/triggers/"+url.PathEscape(str(pb["triggerId"])), nil, &trg)
	data := gin.H{"P": pb, "Trigger": trg, "Title": "Postback " + str(pb["event"]) + " of " + str(pb["orderReferenceId"])}
	if p != nil {
		data["Problem"], status = p, p.Status
	}
	if result != nil {
		data["Result"] = result
	}
	h.page(c, status, "postback", data)
}

func (h *hq) resend(c *gin.Context) {
	var out obj
	if p := h.call(c, http.MethodPost, "/v1/admin/postbacks/"+url.PathEscape(c.Param("id"))+"/resend", nil, &out); p != nil {
		h.showPostback(c, http.StatusOK, p, nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/postbacks/"+url.PathEscape(c.Param("id"))+"?notice=resent")
}

// bulkResend resends every postback of a time window and status (the form
// on the Postbacks page, filled from its filters).
func (h *hq) bulkResend(c *gin.Context) {
	body := map[string]any{}
	for _, k := range []string{"from", "to"} {
		if v := strings.TrimSpace(c.PostForm(k)); v != "" {
			t, err := parseDay(v, k == "to")
			if err != nil {
				h.fail(c, &problem{Status: 422, Title: "Unprocessable Entity", Field: k, Detail: k + " must be a date like 2026-11-22"})
				return
			}
			body[k] = t.Format(time.RFC3339)
		}
	}
	for _, k := range []string{"status", "triggerId"} {
		if v := strings.TrimSpace(c.PostForm(k)); v != "" {
			body[k] = v
		}
	}
	var out obj
	if p := h.call(c, http.MethodPost, "/v1/admin/postbacks/resend", body, &out); p != nil {
		h.fail(c, p)
		return
	}
	h.page(c, http.StatusOK, "error", gin.H{"Active": "postbacks", "Title": "Bulk resend",
		"Notice": "Bulk resend started.", "Result": out})
}

// ---- pretty-printing bodies

// pretty indents a JSON or XML body for reading; anything else (or a body
// that does not parse) is shown as it is.
func pretty(v any) string {
	s := str(v)
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(t), "", "  ") == nil {
			return buf.String()
		}
	case strings.HasPrefix(t, "<"):
		if out, err := indentXML(t); err == nil {
			return out
		}
	}
	return s
}

// indentXML re-indents an XML document token by token: whitespace between
// elements is dropped, text and namespace prefixes are kept as written.
func indentXML(s string) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(s))
	var b strings.Builder
	depth := 0
	inline := false // the last thing written was a start tag or text, so the end tag stays on its line
	name := func(n xml.Name) string {
		if n.Space != "" {
			return n.Space + ":" + n.Local
		}
		return n.Local
	}
	newline := func() {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Repeat("  ", depth))
	}
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			newline()
			b.WriteString("<" + name(t.Name))
			for _, a := range t.Attr {
				b.WriteString(" " + name(a.Name) + `="`)
				_ = xml.EscapeText(&b, []byte(a.Value))
				b.WriteString(`"`)
			}
			b.WriteString(">")
			depth++
			inline = true
		case xml.EndElement:
			depth--
			if !inline {
				newline()
			}
			b.WriteString("</" + name(t.Name) + ">")
			inline = false
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
			_ = xml.EscapeText(&b, t)
			inline = true
		case xml.Comment:
			newline()
			b.WriteString("<!--" + string(t) + "-->")
			inline = false
		case xml.ProcInst:
			newline()
			b.WriteString("<?" + t.Target + " " + string(t.Inst) + "?>")
			inline = false
		case xml.Directive:
			newline()
			b.WriteString("<!" + string(t) + ">")
			inline = false
		}
	}
	return b.String(), nil
}
