// Package orderintake holds the domain types shared by every layer: order
// statuses and events, postback triggers, and the error type whose codes the
// API maps to HTTP in one place. It imports nothing of gin, pgx or Temporal.
package orderintake

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/oklog/ulid/v2"
)

// Events a printer reports (and, for failed, that the gateway raises itself).
const (
	EventReceived     = "received"
	EventInProduction = "in_production"
	EventShipped      = "shipped"
	EventInTransit    = "in_transit"
	EventDelivered    = "delivered"
	EventFailed       = "failed"
	EventCanceled     = "canceled"
	EventReturned     = "returned"
	// EventDelayed is ours: the printer took the order and has not shipped
	// it within the customer's delayedAfter.
	EventDelayed = "delayed"
)

// PrinterEvents lists the eight events a printer reports, in journey order.
var PrinterEvents = []string{EventReceived, EventInProduction, EventShipped, EventInTransit, EventDelivered, EventFailed, EventCanceled, EventReturned}

// Events lists the nine events triggers fire on: the printer's eight and delayed.
var Events = append(append([]string(nil), PrinterEvents...), EventDelayed)

// OrderStatuses are every status an order can be in, in journey order
// (delayed is an event, never a status).
var OrderStatuses = append(append([]string{StatusAccepted, StatusSubmitted}, PrinterEvents...), StatusRejected)

// PostbackStatuses are every status a postback can be in.
var PostbackStatuses = []string{PostbackPending, PostbackDelivered, PostbackFailed, PostbackExhausted, PostbackAborted}

// IsEvent reports whether s names one of the eight events a printer reports
// (delayed is never the printer's to report).
func IsEvent(s string) bool {
	for _, e := range PrinterEvents {
		if e == s {
			return true
		}
	}
	return false
}

// ShippedOrLater reports whether an order in this status has left the
// printer (or ended): too late to cancel, and never delayed.
func ShippedOrLater(status string) bool {
	switch status {
	case EventShipped, EventInTransit, EventDelivered:
		return true
	}
	return IsTerminal(status)
}

// Order statuses beyond the event names: an order is "accepted" until the
// printer took it, then "submitted", then it carries the last event's name.
const (
	StatusAccepted  = "accepted"
	StatusSubmitted = "submitted"
	// StatusCancelPending answers a cancel whose printer verdict is not in
	// within the caller's wait; the order's status itself is unchanged.
	StatusCancelPending = "cancel_pending"
)

// StatusRejected marks a request the API refused for what it carried (bad
// input, a key conflict): recorded for the Requests view, never an order.
const StatusRejected = "rejected"

// IsTerminal reports whether an order in this status takes no more events.
func IsTerminal(status string) bool {
	switch status {
	case EventDelivered, EventCanceled, EventReturned, EventFailed:
		return true
	}
	return false
}

// Template kinds and formats.
const (
	KindIntake         = "intake"
	KindCancel         = "cancel"
	KindSubmitResponse = "submit_response"
	KindCancelResponse = "cancel_response"
	KindWebhook        = "webhook"
	KindEmail          = "email"

	FormatJSON = "json"
	FormatXML  = "xml"
	FormatText = "text"
)

// TemplateKinds lists every template kind.
var TemplateKinds = []string{KindIntake, KindCancel, KindSubmitResponse, KindCancelResponse, KindWebhook, KindEmail}

// Trigger methods and statuses.
const (
	MethodURL   = "url"
	MethodEmail = "email"

	TriggerTest     = "test"
	TriggerActive   = "active"
	TriggerDisabled = "disabled"
)

// Postback statuses.
const (
	PostbackPending   = "pending"
	PostbackDelivered = "delivered"
	PostbackFailed    = "failed"    // permanent failure (4xx, template error, 5xx SMTP)
	PostbackExhausted = "exhausted" // the retry schedule ran out
	PostbackAborted   = "aborted"   // the receiver asked us to stop
)

// NewID returns a sortable, URL-safe id with a type prefix ("cus_01J…").
func NewID(prefix string) string {
	return prefix + "_" + strings.ToLower(ulid.Make().String())
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// OrderID derives an order's id from (customer, key), so a repeated request
// finds its order without a database lookup. It is URL-safe and fixed-length.
func OrderID(customerID, key string) string {
	sum := sha256.Sum256([]byte(customerID + "\x00" + key))
	return "ord_" + strings.ToLower(idEncoding.EncodeToString(sum[:16]))
}

// WorkflowID is the Temporal workflow id of an order.
func WorkflowID(customerID, key string) string {
	return "order/" + customerID + "/" + key
}

// NewOrderKey is the key of an order that brings neither an Idempotency-Key
// nor a reference: a fresh ULID.
func NewOrderKey() string { return ulid.Make().String() }
