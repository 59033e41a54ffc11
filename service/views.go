package service

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	oi "orderintake"
	"orderintake/store"
)

// Views reads the Requests and Postbacks views: what an operator sees of
// an order and of a postback, as typed values the JSON API encodes and the
// HQ pages render.
type Views struct {
	Store *store.Store
	// TemporalUIURL links an order to its workflow in the Web UI ("" = no link).
	TemporalUIURL string
	Namespace     string
}

// WorkflowURL is the workflow's page in the Temporal Web UI ("" without one).
func (v *Views) WorkflowURL(workflowID string) string {
	if v.TemporalUIURL == "" {
		return ""
	}
	r := strings.NewReplacer("%", "%25", "/", "%2F", "?", "%3F", "#", "%23", " ", "%20")
	return strings.TrimRight(v.TemporalUIURL, "/") + "/namespaces/" + v.Namespace + "/workflows/" + r.Replace(workflowID)
}

// Requests is a page of orders, newest first, and the next page's cursor.
func (v *Views) Requests(ctx context.Context, f ListFilter) ([]RequestSummary, string, error) {
	if err := checkRequestFilter(f); err != nil {
		return nil, "", err
	}
	list, next, err := v.Store.ListOrderRequests(ctx, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]RequestSummary, 0, len(list))
	for _, o := range list {
		out = append(out, requestSummary(o))
	}
	return out, next, nil
}

// Request is one order: the four stages, the event timeline and the
// postbacks it fired (for a refused request, what the client was told).
func (v *Views) Request(ctx context.Context, id string) (*RequestDetail, error) {
	o, err := v.Store.GetOrderRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := v.Store.ListOrderEvents(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	pbs, err := v.Store.ListOrderPostbacks(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	if events == nil {
		events = []*oi.OrderEvent{}
	}
	out := &RequestDetail{ID: o.ID, CustomerID: o.CustomerID, PrinterID: o.PrinterID, WorkflowID: o.WorkflowID,
		IdempotencyKey: o.IdempotencyKey, OrderReferenceID: o.OrderReferenceID, Status: o.Status,
		StatusReason: o.StatusReason, ReceivedAt: o.ReceivedAt, UpdatedAt: o.UpdatedAt,
		OriginalRequest: OriginalRequestView{ContentType: o.Original.ContentType, Headers: o.Original.Headers,
			Body: string(o.Original.Body), ReceivedAt: o.ReceivedAt},
		TemplateProcessing: ProcessingView{TemplateID: o.Processing.TemplateID, TemplateVersion: o.Processing.TemplateVersion,
			Output: nullableBytes(o.Processing.Output), Error: o.Processing.Error, ProcessedAt: o.Processing.ProcessedAt,
			Warnings: stageWarnings(o.Processing.Warnings)},
		Events: events, Postbacks: PostbackViews(pbs), Links: DetailLinks{Workflow: v.WorkflowURL(o.WorkflowID)}}
	out.FinalRequest, out.SystemResponse = stageViews(o.Final, o.Response)
	out.PrinterOrderID, out.Try = o.PrinterOrderID, o.Try
	if out.Tries, err = v.tries(ctx, o.ID); err != nil {
		return nil, err
	}
	if out.CancelRequests, err = v.cancelRequests(ctx, o.ID); err != nil {
		return nil, err
	}
	if o.Status == oi.StatusRejected {
		// What the client was told; the row has no workflow or later stages.
		if out.Rejection, err = v.Store.GetRejection(ctx, o.ID); err != nil {
			return nil, err
		}
		out.Links = DetailLinks{}
	}
	return out, nil
}

// Postbacks is a page of postbacks, newest first, each with its order's
// reference, and the next page's cursor.
func (v *Views) Postbacks(ctx context.Context, f ListFilter) ([]PostbackView, string, error) {
	if err := checkPostbackFilter(f); err != nil {
		return nil, "", err
	}
	list, next, err := v.Store.ListPostbacks(ctx, f)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(list))
	for _, p := range list {
		ids = append(ids, p.OrderID)
	}
	refs, err := v.Store.OrderReferences(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := PostbackViews(list)
	for i, p := range list {
		out[i].OrderReferenceID = refs[p.OrderID]
	}
	return out, next, nil
}

// Postback is one postback with every attempt.
func (v *Views) Postback(ctx context.Context, id string) (*PostbackDetail, error) {
	p, err := v.Store.GetPostback(ctx, id)
	if err != nil {
		return nil, err
	}
	atts, err := v.Store.ListAttempts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	ref := ""
	if refs, err := v.Store.OrderReferences(ctx, []string{p.OrderID}); err == nil {
		ref = refs[p.OrderID]
	}
	out := postbackDetail(p, ref, atts)
	return &out, nil
}

// RequestSummary is one row of the Requests view.
type RequestSummary struct {
	ID               string    `json:"id"`
	CustomerID       string    `json:"customerId"`
	OrderReferenceID string    `json:"orderReferenceId"`
	Status           string    `json:"status"`
	StatusReason     string    `json:"statusReason"`
	PrinterID        string    `json:"printerId"`
	ReceivedAt       time.Time `json:"receivedAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	WorkflowID       string    `json:"workflowId"`
}

func requestSummary(o *oi.OrderRequest) RequestSummary {
	return RequestSummary{ID: o.ID, CustomerID: o.CustomerID, OrderReferenceID: o.OrderReferenceID, Status: o.Status,
		StatusReason: o.StatusReason, PrinterID: o.PrinterID, ReceivedAt: o.ReceivedAt, UpdatedAt: o.UpdatedAt, WorkflowID: o.WorkflowID}
}

// RequestDetail is the Requests view of one order: the four stages, the
// event timeline and the postbacks it fired.
type RequestDetail struct {
	ID                 string              `json:"id"`
	CustomerID         string              `json:"customerId"`
	PrinterID          string              `json:"printerId"`
	WorkflowID         string              `json:"workflowId"`
	IdempotencyKey     string              `json:"idempotencyKey"`
	OrderReferenceID   string              `json:"orderReferenceId"`
	Status             string              `json:"status"`
	StatusReason       string              `json:"statusReason"`
	ReceivedAt         time.Time           `json:"receivedAt"`
	UpdatedAt          time.Time           `json:"updatedAt"`
	OriginalRequest    OriginalRequestView `json:"originalRequest"`
	TemplateProcessing ProcessingView      `json:"templateProcessing"`
	FinalRequest       *FinalRequestView   `json:"finalRequest"`
	SystemResponse     *SystemResponseView `json:"systemResponse"`
	Events             []*oi.OrderEvent    `json:"events"`
	Postbacks          []PostbackView      `json:"postbacks"`
	Links              DetailLinks         `json:"links"`
	// PrinterOrderID is the printer's own id of the order ("" until it gave one).
	PrinterOrderID string `json:"printerOrderId"`
	// Try is the current submit try; Tries are the earlier ones, each with
	// its stages as they were when the order was resubmitted.
	Try   int       `json:"try"`
	Tries []TryView `json:"tries"`
	// CancelRequests are the order's cancels, each with its four stages.
	CancelRequests []CancelRequestView `json:"cancelRequests"`
	// Rejection is what the client was told, for a request the API refused.
	Rejection json.RawMessage `json:"rejection,omitempty"`
}

// DetailLinks point at the order's workflow.
type DetailLinks struct {
	Workflow string `json:"workflow,omitempty"`
}

// OriginalRequestView is stage 1.
type OriginalRequestView struct {
	ContentType string              `json:"contentType"`
	Headers     map[string][]string `json:"headers"`
	Body        string              `json:"body"`
	ReceivedAt  time.Time           `json:"receivedAt"`
}

// ProcessingView is stage 2.
type ProcessingView struct {
	TemplateID      string          `json:"templateId"`
	TemplateVersion int             `json:"templateVersion"`
	Output          *string         `json:"output"`
	Error           json.RawMessage `json:"error"`
	ProcessedAt     *time.Time      `json:"processedAt"`
	// Warnings are the render's warnings (undefined reads, shadowed names).
	Warnings json.RawMessage `json:"warnings"`
}

// FinalRequestView is stage 3.
type FinalRequestView struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// SystemResponseView is stage 4.
type SystemResponseView struct {
	Attempts  int                 `json:"attempts"`
	SentAt    *time.Time          `json:"sentAt"`
	Status    int                 `json:"status"`
	Headers   map[string][]string `json:"headers"`
	Body      string              `json:"body"`
	LatencyMs int                 `json:"latencyMs"`
	Error     string              `json:"error"`
	// Warnings say what could not be taken from a 2xx answer (a printer
	// order id the printer's expression did not find).
	Warnings json.RawMessage `json:"warnings"`
}

// TryView is an earlier submit try of a resubmitted order.
type TryView struct {
	Try                int                 `json:"try"`
	Status             string              `json:"status"`
	StatusReason       string              `json:"statusReason"`
	ArchivedAt         time.Time           `json:"archivedAt"`
	TemplateProcessing ProcessingView      `json:"templateProcessing"`
	FinalRequest       *FinalRequestView   `json:"finalRequest"`
	SystemResponse     *SystemResponseView `json:"systemResponse"`
}

// CancelRequestView is one cancel of an order (kind cancel) and its four
// stages: the cancel as it came, the cancel template's output, what went to
// the printer's cancel URL, what it answered.
type CancelRequestView struct {
	ID                 string              `json:"id"`
	Kind               string              `json:"kind" enum:"cancel"`
	Source             string              `json:"source" enum:"customer,admin"`
	Outcome            string              `json:"outcome" enum:"pending,canceled,refused,failed"`
	OutcomeReason      string              `json:"outcomeReason"`
	PrinterCalled      bool                `json:"printerCalled"`
	RequestedAt        time.Time           `json:"requestedAt"`
	UpdatedAt          time.Time           `json:"updatedAt"`
	OriginalRequest    OriginalRequestView `json:"originalRequest"`
	TemplateProcessing ProcessingView      `json:"templateProcessing"`
	FinalRequest       *FinalRequestView   `json:"finalRequest"`
	SystemResponse     *SystemResponseView `json:"systemResponse"`
}

func stageViews(f *oi.FinalRequest, r *oi.SystemResponse) (*FinalRequestView, *SystemResponseView) {
	var fv *FinalRequestView
	var rv *SystemResponseView
	if f != nil {
		fv = &FinalRequestView{Method: f.Method, URL: f.URL, Headers: f.Headers, Body: string(f.Body)}
	}
	if r != nil {
		rv = &SystemResponseView{Attempts: r.Attempts, SentAt: r.SentAt, Status: r.Status, Headers: r.Headers,
			Body: string(r.Body), LatencyMs: r.LatencyMs, Error: r.Error, Warnings: stageWarnings(r.Warnings)}
	}
	return fv, rv
}

func processingView(p oi.TemplateProcessing) ProcessingView {
	return ProcessingView{TemplateID: p.TemplateID, TemplateVersion: p.TemplateVersion, Output: nullableBytes(p.Output),
		Error: p.Error, ProcessedAt: p.ProcessedAt, Warnings: stageWarnings(p.Warnings)}
}

func (v *Views) tries(ctx context.Context, orderID string) ([]TryView, error) {
	list, err := v.Store.ListTries(ctx, orderID)
	if err != nil {
		return nil, err
	}
	out := make([]TryView, 0, len(list))
	for _, t := range list {
		tv := TryView{Try: t.Try, Status: t.Status, StatusReason: t.StatusReason, ArchivedAt: t.ArchivedAt,
			TemplateProcessing: processingView(t.Processing)}
		tv.FinalRequest, tv.SystemResponse = stageViews(t.Final, t.Response)
		out = append(out, tv)
	}
	return out, nil
}

func (v *Views) cancelRequests(ctx context.Context, orderID string) ([]CancelRequestView, error) {
	list, err := v.Store.ListCancels(ctx, orderID)
	if err != nil {
		return nil, err
	}
	out := make([]CancelRequestView, 0, len(list))
	for _, cr := range list {
		cv := CancelRequestView{ID: cr.ID, Kind: "cancel", Source: cr.Source, Outcome: cr.Outcome, OutcomeReason: cr.OutcomeReason,
			PrinterCalled: cr.PrinterCalled, RequestedAt: cr.RequestedAt, UpdatedAt: cr.UpdatedAt,
			OriginalRequest: OriginalRequestView{ContentType: cr.Original.ContentType, Headers: cr.Original.Headers,
				Body: string(cr.Original.Body), ReceivedAt: cr.RequestedAt},
			TemplateProcessing: processingView(cr.Processing)}
		cv.FinalRequest, cv.SystemResponse = stageViews(cr.Final, cr.Response)
		out = append(out, cv)
	}
	return out, nil
}

// PostbackView is a postback as the Postbacks view lists it.
type PostbackView struct {
	ID               string          `json:"id"`
	OrderID          string          `json:"orderId"`
	OrderReferenceID string          `json:"orderReferenceId"`
	Event            string          `json:"event"`
	EventID          string          `json:"eventId"`
	TriggerID        string          `json:"triggerId"`
	CustomerID       string          `json:"customerId"`
	Method           string          `json:"method"`
	Destination      string          `json:"destination"`
	Format           string          `json:"format"`
	TemplateVersion  int             `json:"templateVersion"`
	Subject          string          `json:"subject"`
	Body             *string         `json:"body"`
	RenderError      json.RawMessage `json:"renderError"`
	RetryOnFailure   bool            `json:"retryOnFailure"`
	IsTest           bool            `json:"isTest"`
	Status           string          `json:"status"`
	StatusReason     string          `json:"statusReason"`
	Attempts         int             `json:"attempts"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	NextAttemptAt    *time.Time      `json:"nextAttemptAt"`
}

// NewPostbackView is a postback as lists show it.
func NewPostbackView(p *oi.Postback) PostbackView {
	return PostbackView{ID: p.ID, OrderID: p.OrderID, Event: p.Event, EventID: p.EventID, TriggerID: p.TriggerID,
		CustomerID: p.CustomerID, Method: p.Method, Destination: p.Destination, Format: p.Format,
		TemplateVersion: p.TemplateVersion, Subject: p.Subject, Body: nullableBytes(p.Body), RenderError: p.RenderError,
		RetryOnFailure: p.RetryOnFailure, IsTest: p.IsTest, Status: p.Status, StatusReason: p.StatusReason,
		Attempts: p.Attempts, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, NextAttemptAt: p.NextAttemptAt}
}

// PostbackViews are postbacks as lists show them.
func PostbackViews(list []*oi.Postback) []PostbackView {
	out := make([]PostbackView, 0, len(list))
	for _, p := range list {
		out = append(out, NewPostbackView(p))
	}
	return out
}

// PostbackDetail is one postback with every attempt ("attempts" holds the
// attempts themselves; their count is attemptCount).
type PostbackDetail struct {
	ID               string          `json:"id"`
	OrderID          string          `json:"orderId"`
	OrderReferenceID string          `json:"orderReferenceId"`
	Event            string          `json:"event"`
	EventID          string          `json:"eventId"`
	TriggerID        string          `json:"triggerId"`
	CustomerID       string          `json:"customerId"`
	Method           string          `json:"method"`
	Destination      string          `json:"destination"`
	Format           string          `json:"format"`
	TemplateVersion  int             `json:"templateVersion"`
	Subject          string          `json:"subject"`
	Body             *string         `json:"body"`
	RenderError      json.RawMessage `json:"renderError"`
	RetryOnFailure   bool            `json:"retryOnFailure"`
	IsTest           bool            `json:"isTest"`
	Status           string          `json:"status"`
	StatusReason     string          `json:"statusReason"`
	AttemptCount     int             `json:"attemptCount"`
	Attempts         []AttemptView   `json:"attempts"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	NextAttemptAt    *time.Time      `json:"nextAttemptAt"`
}

func postbackDetail(p *oi.Postback, ref string, atts []*oi.PostbackAttempt) PostbackDetail {
	v := NewPostbackView(p)
	out := PostbackDetail{ID: v.ID, OrderID: v.OrderID, OrderReferenceID: ref, Event: v.Event, EventID: v.EventID,
		TriggerID: v.TriggerID, CustomerID: v.CustomerID, Method: v.Method, Destination: v.Destination, Format: v.Format,
		TemplateVersion: v.TemplateVersion, Subject: v.Subject, Body: v.Body, RenderError: v.RenderError,
		RetryOnFailure: v.RetryOnFailure, IsTest: v.IsTest, Status: v.Status, StatusReason: v.StatusReason,
		AttemptCount: p.Attempts, Attempts: make([]AttemptView, 0, len(atts)), CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		NextAttemptAt: v.NextAttemptAt}
	for _, a := range atts {
		out.Attempts = append(out.Attempts, AttemptView{Attempt: a.Attempt, Trigger: a.Trigger, StartedAt: a.StartedAt,
			DurationMs: a.DurationMs, ResolvedIP: a.ResolvedIP, RequestHeaders: a.RequestHeaders, RequestBody: nullableBytes(a.RequestBody),
			ResponseStatus: a.ResponseStatus, ResponseHeaders: a.ResponseHeaders, ResponseBody: nullableBytes(a.ResponseBody),
			Outcome: a.Outcome, ErrorKind: a.ErrorKind, Error: a.Error, NextAttemptAt: a.NextAttemptAt})
	}
	return out
}

// AttemptView is one try of a postback.
type AttemptView struct {
	Attempt         int               `json:"attempt"`
	Trigger         string            `json:"trigger"`
	StartedAt       time.Time         `json:"startedAt"`
	DurationMs      int               `json:"durationMs"`
	ResolvedIP      string            `json:"resolvedIp"`
	RequestHeaders  map[string]string `json:"requestHeaders"`
	RequestBody     *string           `json:"requestBody"`
	ResponseStatus  int               `json:"responseStatus"`
	ResponseHeaders map[string]string `json:"responseHeaders"`
	ResponseBody    *string           `json:"responseBody"`
	Outcome         string            `json:"outcome"`
	ErrorKind       string            `json:"errorKind"`
	Error           string            `json:"error"`
	NextAttemptAt   *time.Time        `json:"nextAttemptAt"`
}

func nullableBytes(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// stageWarnings is a template stage's stored warnings, [] when none.
func stageWarnings(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("[]")
	}
	return raw
}
