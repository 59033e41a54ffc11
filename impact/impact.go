// Package impact answers "what would this template change?" before a new
// version is saved: it renders the stored version and the draft over a
// customer's latest real inputs (orders for intake and cancel templates,
// postbacks' order and event for webhook and e-mail templates) and sorts
// each into same, changed (with a side-by-side diff), now failing, fixed or
// still failing.
package impact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/render"
	"orderintake/store"
	"orderintake/workflows"
)

// Outcomes of one input.
const (
	Same         = "same"
	Changed      = "changed"
	NowFailing   = "now failing"
	Fixed        = "fixed" // the stored version fails, the draft renders
	StillFailing = "still failing"
)

// DefaultLimit is how many inputs a preview runs over.
const DefaultLimit = 50

// Item is one input's outcome.
type Item struct {
	Kind             string    `json:"kind"` // "order" or "postback"
	ID               string    `json:"id"`   // the order's or postback's id
	OrderID          string    `json:"orderId"`
	OrderReferenceID string    `json:"orderReferenceId"`
	At               time.Time `json:"at"`
	Outcome          string    `json:"outcome"`
	Before           string    `json:"before,omitempty"` // the stored version's output (pretty JSON)
	After            string    `json:"after,omitempty"`  // the draft's output
	Error            string    `json:"error,omitempty"`  // the draft's error (now failing, still failing)
	Line             int       `json:"line,omitempty"`
	Column           int       `json:"column,omitempty"`
	// Diff is the side-by-side diff of Before and After (changed only).
	Diff []Row `json:"diff,omitempty"`
	// DraftMs is how long the draft took to render.
	DraftMs float64 `json:"draftMs"`
}

// Report is a preview over up to Limit inputs.
type Report struct {
	TemplateID string         `json:"templateId"`
	Version    int            `json:"version"` // the stored version compared against
	CustomerID string         `json:"customerId"`
	Inputs     string         `json:"inputs"` // "orders" or "postbacks"
	Counts     map[string]int `json:"counts"`
	Items      []Item         `json:"items"`
}

// Request is what to preview.
type Request struct {
	Template   *oi.Template    // the stored template (its current version)
	Draft      mapper.Template // the draft (ID and Version empty: not cached as the stored one)
	CustomerID string
	Limit      int
}

// Run renders both versions over the customer's latest inputs.
func Run(ctx context.Context, st *store.Store, eng *mapper.Engine, r Request) (*Report, error) {
	if r.Limit <= 0 || r.Limit > 200 {
		r.Limit = DefaultLimit
	}
	if r.CustomerID == "" {
		return nil, oi.FieldError("customerId", "choose the customer whose orders the preview runs over")
	}
	cust, err := st.GetCustomer(ctx, r.CustomerID)
	if err != nil {
		return nil, err
	}
	lookups, err := render.Lookups(ctx, st, cust.ID)
	if err != nil {
		return nil, fmt.Errorf("load lookups of %s: %w", cust.ID, err)
	}
	rep := &Report{TemplateID: r.Template.ID, Version: r.Template.Version, CustomerID: cust.ID, Counts: map[string]int{}}
	stored := mapper.Template{ID: r.Template.ID, Version: r.Template.Version, Format: mapper.Format(r.Template.Format),
		Body: r.Template.Body, Strict: r.Template.Strict}
	r.Draft.ID, r.Draft.Version = "", 0

	inputs, err := loadInputs(ctx, st, r.Template, cust, r.Limit)
	if err != nil {
		return nil, err
	}
	rep.Inputs = "orders"
	if r.Template.Kind == oi.KindWebhook || r.Template.Kind == oi.KindEmail {
		rep.Inputs = "postbacks"
	}
	for _, in := range inputs {
		item := in.item
		before, berr := eng.Render(ctx, stored, in.data(), lookups)
		t0 := time.Now()
		after, aerr := eng.Render(ctx, r.Draft, in.data(), lookups)
		item.DraftMs = float64(time.Since(t0).Microseconds()) / 1000
		switch {
		case aerr != nil && berr != nil:
			item.Outcome = StillFailing
		case aerr != nil:
			item.Outcome = NowFailing
		case berr != nil:
			item.Outcome, item.After = Fixed, pretty(after, r.Draft.Format)
		case bytes.Equal(before, after):
			item.Outcome = Same
		default:
			item.Outcome = Changed
			item.Before, item.After = pretty(before, stored.Format), pretty(after, r.Draft.Format)
			item.Diff = SideBySide(item.Before, item.After)
		}
		if aerr != nil {
			item.Error = aerr.Error()
			if me, ok := aerr.(*mapper.Error); ok {
				item.Error, item.Line, item.Column = me.Message, me.Line, me.Column
			}
		}
		rep.Counts[item.Outcome]++
		rep.Items = append(rep.Items, item)
	}
	return rep, nil
}

// input is one real input: its item (ids, time) and a fresh context per
// render (a template may change the maps it is given).
type input struct {
	item Item
	data func() map[string]any
}

func loadInputs(ctx context.Context, st *store.Store, t *oi.Template, cust *oi.Customer, limit int) ([]input, error) {
	switch t.Kind {
	case oi.KindWebhook, oi.KindEmail:
		return postbackInputs(ctx, st, t, cust, limit)
	}
	orders, _, err := st.ListOrderRequests(ctx, store.ListFilter{CustomerID: cust.ID, Limit: limit * 2})
	if err != nil {
		return nil, err
	}
	var out []input
	for _, s := range orders {
		if len(out) == limit {
			break
		}
		if s.Status == oi.StatusRejected {
			continue // refused before intake: never rendered
		}
		o, err := st.GetOrderRequest(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if _, _, err := mapper.ParseInput(o.Original.ContentType, o.Original.Body); err != nil {
			continue // did not parse: no template ever saw it
		}
		info := mapper.CustomerInfo{ID: cust.ID, Name: cust.Name, ReferenceID: cust.ReferenceID}
		raw, ctype, headers, at := o.Original.Body, o.Original.ContentType, o.Original.Headers, o.ReceivedAt
		out = append(out, input{
			item: Item{Kind: "order", ID: o.ID, OrderID: o.ID, OrderReferenceID: o.OrderReferenceID, At: o.ReceivedAt},
			data: func() map[string]any {
				b, _, _ := mapper.ParseInputOrdered(ctype, raw) // parsed above; again for a fresh value, in the body's key order as at intake
				return mapper.IntakeContext(b, headers, info, at)
			}})
	}
	return out, nil
}

func postbackInputs(ctx context.Context, st *store.Store, t *oi.Template, cust *oi.Customer, limit int) ([]input, error) {
	triggers, err := st.ListTriggers(ctx, cust.ID)
	if err != nil {
		return nil, err
	}
	var pbs []*oi.Postback
	for _, tr := range triggers {
		if tr.TemplateID != t.ID {
			continue
		}
		list, _, err := st.ListPostbacks(ctx, store.ListFilter{TriggerID: tr.ID, Limit: limit})
		if err != nil {
			return nil, err
		}
		pbs = append(pbs, list...)
	}
	sort.Slice(pbs, func(i, j int) bool { return pbs[i].CreatedAt.After(pbs[j].CreatedAt) })
	var out []input
	orders := map[string]*oi.OrderRequest{}
	for _, p := range pbs {
		if len(out) == limit {
			break
		}
		if p.OrderID == "" {
			continue // a test postback: no real order
		}
		o, ok := orders[p.OrderID]
		if !ok {
			if o, err = st.GetOrderRequest(ctx, p.OrderID); err != nil {
				return nil, err
			}
			orders[p.OrderID] = o
		}
		evs, err := st.ListOrderEvents(ctx, p.OrderID)
		if err != nil {
			return nil, err
		}
		ev := workflows.PrinterEvent{EventID: p.EventID, Status: p.Event, Timestamp: p.CreatedAt}
		for _, e := range evs {
			if e.EventID == p.EventID {
				ev = workflows.PrinterEvent{EventID: e.EventID, Status: e.Status, Timestamp: e.OccurredAt, Message: e.Message,
					TrackingCode: e.TrackingCode, TrackingURL: e.TrackingURL, CarrierName: e.CarrierName}
			}
		}
		order := o
		out = append(out, input{
			item: Item{Kind: "postback", ID: p.ID, OrderID: o.ID, OrderReferenceID: o.OrderReferenceID, At: p.CreatedAt},
			data: func() map[string]any { return render.PostbackContext(order, ev) }})
	}
	return out, nil
}

// pretty indents JSON output so a diff shows lines; other formats as they are.
func pretty(b []byte, f mapper.Format) string {
	if f == mapper.FormatJSON {
		var buf bytes.Buffer
		if json.Indent(&buf, b, "", "  ") == nil {
			return buf.String()
		}
	}
	return strings.TrimRight(string(b), "\n")
}
