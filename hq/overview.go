package hq

import (
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"orderintake/charts"
	"orderintake/overview"
)

// ---- overview (/hq/): orders per hour, rates, latency, what fails now

type overviewView struct {
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

// customerRow is one line of the per-customer table.
type customerRow struct {
	CustomerID, CustomerName string
	Orders, Failed, Rejected int
	Rate                     string
}

type overviewPage struct {
	Page
	V               *overviewView
	CustomerOptions []option
}

func (h *HQ) overviewPage(c *gin.Context) {
	span, spanName := overview.Day, "24h"
	if c.Query("span") == "7d" {
		span, spanName = overview.Week, "7d"
	}
	customer := strings.TrimSpace(c.Query("customerId"))
	if c.Query("refresh") == "1" {
		h.Overview.Refresh()
	}
	o, err := h.Overview.Get(c.Request.Context(), span, customer)
	if err != nil {
		h.log.Error("hq overview", "error", err)
		h.showProblem(c, &Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable",
			Detail: "the overview could not be computed right now (the database did not answer): try again shortly"})
		return
	}
	v := &overviewView{Span: spanName, Customer: customer, O: o, AsOf: o.ComputedAt.UTC().Format("15:04:05 UTC"),
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
	// A percentile of no samples is no number: shown as a dash.
	lat := func(n int, p float64) string {
		if n == 0 {
			return "—"
		}
		return charts.Millis(p)
	}
	in, ev := o.Latency.IntakeToPrinter, o.Latency.EventToPostback
	v.IntakeP50, v.IntakeP95 = lat(in.N, in.P50), lat(in.N, in.P95)
	v.PostbackP50, v.PostbackP95 = lat(ev.N, ev.P50), lat(ev.N, ev.P95)
	for _, cs := range o.Customers {
		v.Customers = append(v.Customers, customerRow{CustomerID: cs.CustomerID, CustomerName: cs.CustomerName, Orders: cs.Orders,
			Failed: cs.Failed, Rejected: cs.Rejected, Rate: charts.Percent(cs.FailureRate(), cs.Orders > 0)})
	}
	names, _ := h.names(c, "customers")
	opts := make([]option, 0, len(names))
	for id, n := range names {
		opts = append(opts, option{Value: id, Label: n})
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].Label < opts[j].Label })
	h.render(c, http.StatusOK, "overview", &overviewPage{Page: Page{Title: "Overview"}, V: v, CustomerOptions: opts})
}
