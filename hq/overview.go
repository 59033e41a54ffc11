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
	"orderintake/store"
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

type customerRow struct {
	store.CustomerSummary
	Rate string
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
	names, _ := h.names(c, "customers")
	opts := make([]option, 0, len(names))
	for id, n := range names {
		opts = append(opts, option{Value: id, Label: n})
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].Label < opts[j].Label })
	h.render(c, http.StatusOK, "overview", &overviewPage{Page: Page{Title: "Overview"}, V: v, CustomerOptions: opts})
}
