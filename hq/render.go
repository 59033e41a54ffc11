package hq

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"orderintake/charts"
	"orderintake/internal/problem"
)

// Page is what every page's layout shows: embedded in each page's view.
type Page struct {
	Title   string
	Active  string // the nav entry lit ("": from the path)
	CSRF    string
	Notice  string
	Problem *Problem
	// SignedIn and Nav are set by render.
	SignedIn bool
	Nav      []navItem
}

func (p *Page) base() *Page { return p }

type view interface{ base() *Page }

// Problem is an error as a page shows it: status and title, what and
// where (field; template kind, line, column and excerpt).
type Problem struct {
	Status  int
	Title   string
	Code    string
	Detail  string
	Field   string
	Kind    string
	Where   string
	Line    int
	Column  int
	Excerpt string
}

// problemOf is a service error as a page shows it (its status from the one
// mapping the API uses too, internal/problem).
func problemOf(err error) *Problem {
	pr := problem.Of(err)
	p := &Problem{Status: pr.Status, Title: pr.Title, Code: pr.Code, Detail: pr.Detail, Field: pr.Field}
	x := pr.Extra
	p.Kind, p.Where, p.Excerpt = text(x["kind"]), text(x["where"]), text(x["excerpt"])
	p.Line, p.Column = number(x["line"]), number(x["column"])
	if a, ok := x["printerAnswer"].(string); ok {
		p.Detail += fmt.Sprintf(" (the printer answered %v: %s)", x["printerStatus"], a)
	}
	return p
}

func number(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

type navItem struct{ Path, Label string }

var navItems = []navItem{
	{"", "Overview"}, {"requests", "Requests"}, {"postbacks", "Postbacks"}, {"customers", "Customers"}, {"printers", "Printers"},
	{"templates", "Templates"}, {"triggers", "Triggers"}, {"lookups", "Lookups"}, {"settings", "Settings"},
}

var notices = map[string]string{
	"saved": "Saved.", "created": "Created.", "revoked": "Key revoked.", "resent": "Resend started: a new attempt is on its way.",
	"tested": "Test sent.", "canceled": "Order canceled.",
	"cancelpending": "Cancel sent: the printer's verdict is not in yet; it shows here when it is.",
	"resubmitted":   "Resubmitted: the order is rendered with the current template and sent again.", "imported": "Rows imported.", "rolledback": "Rolled back: the old version is current again, saved as a new version.",
}

type pageSet map[string]*template.Template

var funcs = template.FuncMap{
	"time":     fmtTime,
	"pretty":   pretty,
	"text":     text,
	"headers":  headerRows,
	"short":    shortID,
	"badge":    badge,
	"numbered": numbered,
	"jsonText": jsonText,
	"pathEsc":  url.PathEscape,
	"link":     overviewLink,
	"millis":   charts.Millis,
	"ms":       func(n int) string { return charts.Millis(float64(n)) },
	"queryEsc": url.QueryEscape,
}

func parsePages() pageSet {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(pagesFS, "pages/layout.html"))
	entries, err := pagesFS.ReadDir("pages")
	if err != nil {
		panic(err)
	}
	out := pageSet{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".html")
		if !ok || name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(pagesFS, "pages/"+e.Name()))
	}
	return out
}

// render writes one page: v's own fields and the layout's (set here).
func (h *HQ) render(c *gin.Context, status int, name string, v view) {
	t := h.pages[name]
	if t == nil {
		t = h.pages["error"]
	}
	p := v.base()
	p.CSRF = c.GetString("hq.csrf")
	p.SignedIn = p.CSRF != ""
	p.Nav = navItems
	if p.Active == "" {
		p.Active = strings.SplitN(strings.TrimPrefix(c.FullPath(), "/hq/"), "/", 2)[0]
	}
	if n := notices[c.Query("notice")]; n != "" && p.Notice == "" {
		p.Notice = n
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		h.log.Error("render hq page", "page", name, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// resultPage shows a problem alone, or the result of a bulk action.
type resultPage struct {
	Page
	Result any // a typed answer, shown as JSON
}

// showProblem shows p as the page, with its status.
func (h *HQ) showProblem(c *gin.Context, p *Problem) {
	h.render(c, p.Status, "error", &resultPage{Page: Page{Problem: p}})
}

// fail shows a service error as the page.
func (h *HQ) fail(c *gin.Context, err error) { h.showProblem(c, h.problem(c, err)) }

// problem is a service error as the page shows it; internal ones are
// logged with their cause (the page says only "internal error").
func (h *HQ) problem(c *gin.Context, err error) *Problem {
	p := problemOf(err)
	if p.Status >= 500 {
		h.log.Error("hq page failed", "method", c.Request.Method, "path", c.FullPath(), "status", p.Status, "error", err)
	}
	return p
}

// invalid is a form value the page itself refuses (422).
func invalid(field, detail string) *Problem {
	return &Problem{Status: 422, Title: "Unprocessable Entity", Field: field, Detail: detail}
}

// ---- template functions

// text is a string, a *string (nil: "") or bytes as text.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case *string:
		if x == nil {
			return ""
		}
		return *x
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// fmtTime shows a time in UTC, to the second ("" for none).
func fmtTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	default:
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func shortID(s string) string {
	if len(s) > 14 {
		return s[:14] + "…"
	}
	return s
}

func badge(s string) string {
	switch s {
	case "delivered", "active", "submitted", "shipped", "in_transit", "received", "in_production":
		return "ok"
	case "failed", "exhausted", "aborted", "disabled", "canceled", "returned":
		return "bad"
	}
	return "neutral"
}

type headerRow struct{ Name, Value string }

// headerRows lists headers (one value or several, joined) by name.
func headerRows(v any) []headerRow {
	var out []headerRow
	switch m := v.(type) {
	case map[string]string:
		for k, val := range m {
			out = append(out, headerRow{k, val})
		}
	case map[string][]string:
		for k, vals := range m {
			out = append(out, headerRow{k, strings.Join(vals, ", ")})
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

func jsonText(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

type numberedLine struct {
	N    int
	Text string
}

func numbered(s string) []numberedLine {
	lines := strings.Split(s, "\n")
	out := make([]numberedLine, len(lines))
	for i, l := range lines {
		out[i] = numberedLine{i + 1, l}
	}
	return out
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

// pretty indents a JSON or XML body for reading; anything else (or a body
// that does not parse) is shown as it is.
func pretty(v any) string {
	s := text(v)
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
