package service

import (
	"context"
	"net/http"

	oi "orderintake"
	"orderintake/mapper"
)

// Rendered is an answer in the merchant's own format.
type Rendered struct {
	ContentType string
	Body        []byte
}

// AnswerOrder is the order part of an answer's template context.
type AnswerOrder struct {
	ID               string
	OrderReferenceID string
	Status           string
	Links            map[string]string
}

// ResponseContext is the context of a response template: status (the HTTP
// status of our answer), order {id, orderReferenceId, status, links} when
// there is one, and error {title, detail, errors} when we refused.
func ResponseContext(status int, order *AnswerOrder, problem map[string]any) map[string]any {
	data := map[string]any{"status": int64(status)}
	if order != nil {
		links := map[string]any{}
		for k, v := range order.Links {
			links[k] = v
		}
		data["order"] = map[string]any{"id": order.ID, "orderReferenceId": order.OrderReferenceID, "status": order.Status,
			"links": links}
	}
	if problem != nil {
		title, _ := problem["title"].(string)
		if title == "" {
			title = http.StatusText(status)
		}
		detail, _ := problem["detail"].(string)
		errs := []any{}
		if f, ok := problem["field"].(string); ok && f != "" {
			errs = append(errs, map[string]any{"field": f, "message": detail})
		}
		if list, ok := problem["errors"].([]any); ok {
			errs = append(errs, list...)
		}
		data["error"] = map[string]any{"title": title, "detail": detail, "errors": errs}
	}
	return data
}

// Respond renders customerID's response template of kind (submit_response
// or cancel_response) over the answer. It answers false when the customer
// has none, or when the template fails: the failure is logged and counted
// and the caller sends its standard answer (a merchant still learns the
// outcome, in our format).
func (l *OrderLife) Respond(ctx context.Context, customerID, kind string, status int, order *AnswerOrder, problem map[string]any) (*Rendered, bool) {
	if customerID == "" {
		return nil, false
	}
	c, err := l.Store.GetCustomer(ctx, customerID)
	if err != nil {
		l.fallback(kind, customerID, "", "load customer", err)
		return nil, false
	}
	id := c.SubmitResponseTemplateID
	if kind == oi.KindCancelResponse {
		id = c.CancelResponseTemplateID
	}
	if id == "" {
		return nil, false
	}
	t, err := l.Store.GetTemplate(ctx, id)
	if err != nil {
		l.fallback(kind, customerID, id, "load template", err)
		return nil, false
	}
	lookups := mapper.Lookups{}
	if tables, err := l.Store.ListLookups(ctx, customerID); err == nil {
		for _, tb := range tables {
			lookups[tb.Name] = mapper.LookupTable{Default: tb.Default, Rows: tb.Rows}
		}
	}
	out, err := l.Mapper.Render(ctx, mapper.Template{ID: t.ID, Version: t.Version, Format: mapper.Format(t.Format), Body: t.Body,
		Strict: t.Strict}, ResponseContext(status, order, problem), lookups)
	if err != nil {
		l.fallback(kind, customerID, id, "render", err)
		return nil, false
	}
	ct := "text/plain; charset=utf-8"
	switch t.Format {
	case oi.FormatJSON:
		ct = "application/json; charset=utf-8"
	case oi.FormatXML:
		ct = "application/xml; charset=utf-8"
	}
	return &Rendered{ContentType: ct, Body: out}, true
}

func (l *OrderLife) fallback(kind, customerID, templateID, step string, err error) {
	if l.Fallbacks != nil {
		l.Fallbacks.WithLabelValues(kind).Inc()
	}
	l.Log.Error("response template failed; answered in the standard form", "kind", kind, "customerId", customerID,
		"templateId", templateID, "step", step, "error", err)
}
