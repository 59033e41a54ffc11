package service

import (
	"context"
	"encoding/json"
	"time"

	oi "orderintake"
	"orderintake/impact"
	"orderintake/mapper"
	"orderintake/store"
)

// SampleIntake is the template editor's starting input for intake and
// cancel templates: an order body.
const SampleIntake = "{\n  \"orderReferenceId\": \"1001\",\n  \"items\": [{\"sku\": \"MUG-WHITE\", \"quantity\": 2}]\n}"

// EditorContext is what the template editor shows beside the body: the
// context a template of its kind sees (from the customer's last real order
// for intake and cancel templates, else the documented sample), what that
// context is from, and the customer's recent orders to render against.
type EditorContext struct {
	Data   map[string]any
	From   string
	Orders []RequestSummary // newest first, refused requests left out
}

// EditorContext builds the editor's context for a template kind and an
// optional customer. A customer or order that cannot be read leaves the
// sample in place: the editor still works.
func (a *Admin) EditorContext(ctx context.Context, kind, customerID string) *EditorContext {
	ec := &EditorContext{}
	var cust *oi.Customer
	if customerID != "" {
		if cu, err := a.Store.GetCustomer(ctx, customerID); err == nil {
			cust = cu
			list, _, _ := a.Store.ListOrderRequests(ctx, store.ListFilter{CustomerID: cu.ID, Limit: 20})
			for _, o := range list {
				if o.Status != oi.StatusRejected {
					ec.Orders = append(ec.Orders, requestSummary(o))
				}
			}
		}
	}
	switch kind {
	case oi.KindWebhook, oi.KindEmail:
		ev := oi.EventShipped
		ec.Data, _ = mapper.SamplePostbackContext(ev)
		ec.From = "the documented sample of a " + ev + " event (every event has the same keys)"
	default:
		ec.From = "the sample order"
		var body any
		_ = json.Unmarshal([]byte(SampleIntake), &body)
		info := mapper.CustomerInfo{ID: "cus_sample", Name: "Sample shop", ReferenceID: "sample"}
		if cust != nil {
			info = mapper.CustomerInfo{ID: cust.ID, Name: cust.Name, ReferenceID: cust.ReferenceID}
			for _, s := range ec.Orders {
				o, err := a.Store.GetOrderRequest(ctx, s.ID)
				if err != nil {
					continue
				}
				if b, _, err := mapper.ParseInput(o.Original.ContentType, o.Original.Body); err == nil {
					body, ec.From = b, "the last real order of "+cust.Name+" ("+o.OrderReferenceID+")"
					break
				}
			}
		}
		ec.Data = mapper.IntakeContext(body, map[string][]string{}, info, time.Now())
	}
	return ec
}

// ImpactInput is a draft of a stored template to preview on the last real
// orders (or postbacks) of a customer ("": the first customer whose orders
// or triggers use the template).
type ImpactInput struct {
	TemplateID string
	CustomerID string
	Format     string
	Body       string
	Strict     bool
}

// ImpactPreview runs the draft over the customer's last real orders (or
// postbacks) beside the stored version. It answers the customer it ran
// over. A draft that does not compile is an ETEMPLATE error; no customer
// to run over is EINVALID (field customerId).
func (a *Admin) ImpactPreview(ctx context.Context, in ImpactInput) (*impact.Report, string, error) {
	t, err := a.Store.GetTemplate(ctx, in.TemplateID)
	if err != nil {
		return nil, in.CustomerID, err
	}
	customer := in.CustomerID
	if customer == "" {
		customer = a.templateCustomer(ctx, t)
	}
	draft := mapper.Template{Format: mapper.Format(in.Format), Body: in.Body, Strict: in.Strict}
	if err := a.Mapper.Check(draft); err != nil {
		return nil, customer, TemplateProblem(err)
	}
	rep, err := impact.Run(ctx, a.Store, a.Mapper, impact.Request{Template: t, Draft: draft, CustomerID: customer})
	return rep, customer, err
}

// templateCustomer is the first customer whose orders the template renders
// (intake, cancel) or whose triggers use it (webhook, email); "" if none.
func (a *Admin) templateCustomer(ctx context.Context, t *oi.Template) string {
	cs, err := a.Store.ListCustomers(ctx)
	if err != nil {
		return ""
	}
	for _, cu := range cs {
		if cu.IntakeTemplateID == t.ID || cu.CancelTemplateID == t.ID {
			return cu.ID
		}
	}
	if t.Kind == oi.KindWebhook || t.Kind == oi.KindEmail {
		for _, cu := range cs {
			if trs, err := a.Store.ListTriggers(ctx, cu.ID); err == nil {
				for _, tr := range trs {
					if tr.TemplateID == t.ID {
						return cu.ID
					}
				}
			}
		}
	}
	return ""
}
