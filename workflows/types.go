// Package workflows holds the order workflow and the types it exchanges with
// activities and the API. It is deterministic and does no I/O: activities are
// called by name, so this package imports neither store nor delivery.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// TaskQueue is where order workflows and their activities run.
const TaskQueue = "orderintake"

// SignalPrinterEvent carries a PrinterEvent into an order's workflow.
const SignalPrinterEvent = "printer-event"

// QueryStatus answers the order's current status.
const QueryStatus = "status"

// Search attributes on every order workflow (Keyword), so the Temporal Web UI
// can find an order by customer, reference or status.
var (
	AttrCustomerID       = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	AttrOrderReferenceID = temporal.NewSearchAttributeKeyKeyword("OrderReferenceId")
	AttrOrderStatus      = temporal.NewSearchAttributeKeyKeyword("OrderStatus")
)

// SearchAttributeNames lists the attributes the namespace must know.
var SearchAttributeNames = []string{"CustomerId", "OrderReferenceId", "OrderStatus"}

// Memo keys set at start, read by the API to answer a repeated request.
const (
	MemoBodyHash = "bodyHash"
	MemoOrderID  = "orderId"
)

// Activity names (methods of activities.Activities).
const (
	ActRecordRequest   = "RecordRequest"
	ActProcessTemplate = "ProcessTemplate"
	ActSendToPrinter   = "SendToPrinter"
	ActSetOrderStatus  = "SetOrderStatus"
	ActRecordEvent     = "RecordEvent"
	ActCreatePostbacks = "CreatePostbacks"
	ActDeliverPostback = "DeliverPostback"
)

// Error types that end an order without retries.
const (
	ErrTemplate        = "TemplateError"
	ErrPrinterRejected = "PrinterRejected"
	ErrOrderConfig     = "OrderConfigError"
)

// OrderInput starts an OrderWorkflow: the raw request as received.
type OrderInput struct {
	OrderID          string
	CustomerID       string
	Key              string
	OrderReferenceID string
	ReceivedAt       time.Time
	ContentType      string
	Headers          map[string][]string
	Body             []byte
	// State is set when the workflow continues as new.
	State *OrderState `json:",omitempty"`
}

// OrderState is what the workflow carries across continue-as-new.
type OrderState struct {
	Status     string
	SeenEvents []string
}

// PrinterEvent is a status report from the printer (the events route body).
type PrinterEvent struct {
	EventID      string    `json:"eventId"`
	Status       string    `json:"status"`
	Timestamp    time.Time `json:"timestamp"`
	Message      string    `json:"message,omitempty"`
	TrackingCode string    `json:"trackingCode,omitempty"`
	TrackingURL  string    `json:"trackingUrl,omitempty"`
	CarrierName  string    `json:"carrierName,omitempty"`
}

// TemplateResult is what ProcessTemplate reports.
type TemplateResult struct {
	TemplateID      string
	TemplateVersion int
}

// PrinterResult is what SendToPrinter reports on success.
type PrinterResult struct {
	Status    int
	Attempts  int
	LatencyMs int
}

// StatusInput moves an order to a status.
type StatusInput struct {
	OrderID string
	Status  string
	Reason  string
}

// RecordEventInput records one event on an order.
type RecordEventInput struct {
	OrderID      string
	Event        PrinterEvent
	Source       string // printer | system
	Accepted     bool
	RejectReason string
}

// RecordEventResult is the stored event.
type RecordEventResult struct {
	OrderEventID int64
	Inserted     bool
}

// CreatePostbacksInput renders and stores the postbacks of one event.
type CreatePostbacksInput struct {
	OrderID      string
	OrderEventID int64
	Event        PrinterEvent
}

// PostbackRef names one postback to deliver; its payload stays in Postgres.
type PostbackRef struct {
	ID          string
	Destination string
	Status      string
}

// DeliverInput delivers one postback.
type DeliverInput struct {
	PostbackID string
	Manual     bool
}

// DeliverResult is the postback's state after delivery ended.
type DeliverResult struct {
	Status   string
	Attempts int
}
