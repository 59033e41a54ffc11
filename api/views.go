package api

import (
	"time"

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
	ID               string             `json:"id"`
	OrderReferenceID string             `json:"orderReferenceId"`
	Status           string             `json:"status"`
	Links            service.OrderLinks `json:"links"`
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
