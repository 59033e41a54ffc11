package api

import (
	"sort"
	"time"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/service"
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
	// PrinterOrderID is the printer's own id of the order ("" until it gave one).
	PrinterOrderID string `json:"printerOrderId"`
	// Try is the submit try (2 and up after a resubmit).
	Try int `json:"try"`
	// Cancels are the order's cancel requests and their outcomes.
	Cancels []CancelSummary `json:"cancels"`
}

// CancelSummary is one cancel of an order as its customer sees it.
type CancelSummary struct {
	ID            string    `json:"id"`
	Outcome       string    `json:"outcome" enum:"pending,canceled,refused,failed"`
	OutcomeReason string    `json:"outcomeReason,omitempty"`
	PrinterCalled bool      `json:"printerCalled"`
	PrinterStatus int       `json:"printerStatus,omitempty"`
	RequestedAt   time.Time `json:"requestedAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
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

// TestPostbackAccepted is a test postback, queued once.
type TestPostbackAccepted struct {
	service.PostbackView
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
