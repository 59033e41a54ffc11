package api

import (
	"encoding/json"
	"sort"
	"time"

	oi "orderintake"
	"orderintake/mapper"
)

// The JSON answers of the API that are not domain types as they are. Each
// field is in the OpenAPI document because it is here (openapi_schema.go
// derives the schemas from these types); descriptions and enums live in
// one table there.

// List is a page of a list route: newest first, nextCursor null on the last
// page (and on small configuration lists, which are never paged).
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func items[T any](list []T) List[T] { return page(list, "") }

func page[T any](list []T, next string) List[T] {
	if list == nil {
		list = []T{}
	}
	out := List[T]{Items: list}
	if next != "" {
		out.NextCursor = &next
	}
	return out
}

// Health is /healthz.
type Health struct {
	Status string `json:"status"`
}

// Ready is /readyz.
type Ready struct {
	Status string      `json:"status"`
	Checks ReadyChecks `json:"checks"`
}

// ReadyChecks says which dependency answers.
type ReadyChecks struct {
	Postgres string `json:"postgres"`
	Temporal string `json:"temporal"`
}

// OrderAccepted answers an accepted order.
type OrderAccepted struct {
	ID               string     `json:"id"`
	OrderReferenceID string     `json:"orderReferenceId"`
	Status           string     `json:"status"`
	Links            OrderLinks `json:"links"`
}

// OrderLinks point at the order in the API, HQ and the Temporal Web UI.
type OrderLinks struct {
	Self     string `json:"self"`
	HQ       string `json:"hq"`
	Workflow string `json:"workflow,omitempty"`
}

// OrderStatus is a customer's view of its order.
type OrderStatus struct {
	ID               string          `json:"id"`
	OrderReferenceID string          `json:"orderReferenceId"`
	Status           string          `json:"status"`
	StatusReason     string          `json:"statusReason"`
	ReceivedAt       time.Time       `json:"receivedAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
	Events           []TimelineEvent `json:"events"`
}

// TimelineEvent is one accepted event in a customer's timeline.
type TimelineEvent struct {
	EventID      string    `json:"eventId"`
	Status       string    `json:"status"`
	Timestamp    time.Time `json:"timestamp"`
	Message      string    `json:"message"`
	TrackingCode string    `json:"trackingCode"`
	TrackingURL  string    `json:"trackingUrl"`
	CarrierName  string    `json:"carrierName"`
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
}

// PostbackView is a postback as the Postbacks view lists it.
type PostbackView struct {
	ID               string          `json:"id"`
	OrderID          string          `json:"orderId"`
	OrderReferenceID string          `json:"orderReferenceId,omitempty"`
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

func postbackView(p *oi.Postback) PostbackView {
	return PostbackView{ID: p.ID, OrderID: p.OrderID, Event: p.Event, EventID: p.EventID, TriggerID: p.TriggerID,
		CustomerID: p.CustomerID, Method: p.Method, Destination: p.Destination, Format: p.Format,
		TemplateVersion: p.TemplateVersion, Subject: p.Subject, Body: nullableBytes(p.Body), RenderError: p.RenderError,
		RetryOnFailure: p.RetryOnFailure, IsTest: p.IsTest, Status: p.Status, StatusReason: p.StatusReason,
		Attempts: p.Attempts, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, NextAttemptAt: p.NextAttemptAt}
}

func postbackViews(list []*oi.Postback) []PostbackView {
	out := make([]PostbackView, 0, len(list))
	for _, p := range list {
		out = append(out, postbackView(p))
	}
	return out
}

// PostbackDetail is one postback with every attempt ("attempts" holds the
// attempts themselves; their count is attemptCount).
type PostbackDetail struct {
	ID               string          `json:"id"`
	OrderID          string          `json:"orderId"`
	OrderReferenceID string          `json:"orderReferenceId,omitempty"`
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
	v := postbackView(p)
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

// TestPostbackAccepted is a test postback, queued once.
type TestPostbackAccepted struct {
	PostbackView
	Series     int         `json:"series"`
	WorkflowID string      `json:"workflowId"`
	Links      SeriesLinks `json:"links"`
}

// SeriesAccepted is a resend, queued as a new attempt series.
type SeriesAccepted struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Series     int         `json:"series"`
	WorkflowID string      `json:"workflowId"`
	Links      SeriesLinks `json:"links"`
}

// SeriesLinks point at the postback and the series' workflow.
type SeriesLinks struct {
	Self     string `json:"self"`
	Workflow string `json:"workflow,omitempty"`
}

// BulkResendAccepted says how many resends were queued.
type BulkResendAccepted struct {
	Queued    int      `json:"queued"`
	More      bool     `json:"more"`
	NotQueued []string `json:"notQueued,omitempty"`
}

// Lookup is a lookup table with its rows sorted by key.
type Lookup struct {
	ID         string             `json:"id"`
	CustomerID string             `json:"customerId"`
	Name       string             `json:"name"`
	Default    string             `json:"default"`
	Rows       []mapper.LookupRow `json:"rows"`
	RowCount   int                `json:"rowCount"`
	Imported   int                `json:"imported,omitempty"`
	CreatedAt  time.Time          `json:"createdAt"`
	UpdatedAt  time.Time          `json:"updatedAt"`
}

func lookupView(l *oi.LookupTable) Lookup {
	rows := make([]mapper.LookupRow, 0, len(l.Rows))
	for k, v := range l.Rows {
		rows = append(rows, mapper.LookupRow{Key: k, Value: v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return Lookup{ID: l.ID, CustomerID: l.CustomerID, Name: l.Name, Default: l.Default, Rows: rows,
		RowCount: len(rows), CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

// LookupSummary is a lookup table in a list (without its rows).
type LookupSummary struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customerId"`
	Name       string    `json:"name"`
	Default    string    `json:"default"`
	RowCount   int       `json:"rowCount"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// RenderOutput is a template rendered over a sample input.
type RenderOutput struct {
	Output          string           `json:"output"`
	Warnings        []mapper.Warning `json:"warnings"`
	Format          string           `json:"format"`
	Kind            string           `json:"kind"`
	Strict          bool             `json:"strict"`
	TemplateVersion *int             `json:"templateVersion"`
	Subject         string           `json:"subject,omitempty"`
	SubjectWarnings []mapper.Warning `json:"subjectWarnings,omitempty"`
}

func nullableBytes(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
