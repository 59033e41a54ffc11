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

// UpdateCancel cancels an order (CancelInput → CancelResult). Its validator
// refuses (ErrCancelRefused) once the order has shipped or ended.
const UpdateCancel = "cancel"

// UpdateResubmit sends a failed order again (→ ResubmitResult); the signal
// of the same name does the same without an answer (bulk resubmit).
const (
	UpdateResubmit = "resubmit"
	SignalResubmit = "resubmit"
)

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
	ActOrderSettings   = "OrderSettings"
	ActArchiveTry      = "ArchiveTry"
	ActStartCancel     = "StartCancel"
	ActEndCancel       = "EndCancel"
	ActCancelAtPrinter = "CancelAtPrinter"

	// First tries as local activities (versionFewerRoundTrips): the
	// regular activity above takes over only when the first try fails.
	ActDeliverPostbackFirst = "DeliverPostbackFirst"
	ActSendToPrinterFirst   = "SendToPrinterFirst"
	ActSendToPrinterAgain   = "SendToPrinterAgain"
	// RecordEvent and CreatePostbacks in one local activity and one
	// transaction (versionFewerRoundTrips).
	ActRecordEventAndPostbacks = "RecordEventAndPostbacks"
)

// Error types that end an order without retries.
const (
	ErrTemplate        = "TemplateError"
	ErrPrinterRejected = "PrinterRejected"
	ErrOrderConfig     = "OrderConfigError"
	// ErrCancelRefused: the order is past the point where it can be canceled.
	ErrCancelRefused = "CancelRefused"
	// ErrResubmitRefused: only a failed order can be resubmitted.
	ErrResubmitRefused = "ResubmitRefused"
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
	// From the order-life version on (zero values before it).
	Try          int           `json:",omitempty"`
	Took         bool          `json:",omitempty"` // the printer took the order
	TookAt       time.Time     `json:",omitempty"`
	DelayedAfter time.Duration `json:",omitempty"`
	DelayedFired bool          `json:",omitempty"`
	FailedAt     time.Time     `json:",omitempty"`
	FailedHold   time.Duration `json:",omitempty"`
}

// OrderSettings are read once per order: the customer's delayedAfter and
// the worker's ORDERINTAKE_FAILED_ORDER_HOLD.
type OrderSettings struct {
	DelayedAfter time.Duration
	FailedHold   time.Duration
}

// DefaultFailedOrderHold is how long a failed order waits for a resubmit.
const DefaultFailedOrderHold = 168 * time.Hour

// CancelInput is a cancel request: who asks, and the optional body (JSON or
// XML) that is the cancel template's input.
type CancelInput struct {
	Source      string // customer | admin
	ContentType string
	Headers     map[string][]string
	Body        []byte
}

// CancelResult is the verdict of a cancel that went through.
type CancelResult struct {
	CancelID string
	Status   string // canceled
	// PrinterCalled is false when the cancel stopped the submission before
	// the printer took the order.
	PrinterCalled bool
	PrinterStatus int `json:",omitempty"`
}

// CancelAtPrinterInput sends one recorded cancel to the printer.
type CancelAtPrinterInput struct {
	OrderID  string
	CancelID string
}

// CancelAtPrinterResult is the printer's 2xx answer to a cancel.
type CancelAtPrinterResult struct {
	Status    int
	Attempts  int
	LatencyMs int
}

// StartCancelInput records a cancel request as it came in.
type StartCancelInput struct {
	OrderID     string
	CancelID    string
	RequestedAt time.Time
	Cancel      CancelInput
}

// EndCancelInput records a cancel's outcome (see oi.Cancel*).
type EndCancelInput struct {
	CancelID string
	Outcome  string
	Reason   string
}

// ArchiveTryInput starts submit try Try of an order.
type ArchiveTryInput struct {
	OrderID string
	Try     int
}

// ResubmitResult answers a resubmit: the try that is now under way.
type ResubmitResult struct {
	OrderID string
	Try     int
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
	// PrinterOrderID is the printer's own id of the order ("" when the
	// printer sets no orderIdExpression or its answer had none).
	PrinterOrderID string `json:",omitempty"`
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
	Source       string // printer | system | customer
	Accepted     bool
	RejectReason string
}

// RecordEventResult is the stored event.
type RecordEventResult struct {
	OrderEventID int64
	Inserted     bool
	// Postbacks of an accepted event (RecordEventAndPostbacks only).
	Postbacks []PostbackRef `json:",omitempty"`
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
	// SendTimeout bounds the webhook or SMTP call of a first try run as a
	// local activity, below the activity's cap, so the attempt is recorded
	// within the cap (0: the sender's own timeout).
	SendTimeout time.Duration `json:",omitempty"`
}

// DeliverResult is the postback's state after delivery ended.
type DeliverResult struct {
	Status   string
	Attempts int
	// RetryIn is, for a first try that left the postback pending, the
	// schedule's delay before the next attempt.
	RetryIn time.Duration `json:",omitempty"`
}

// PrinterSendInput sends an order to its printer outside SendToPrinter's
// first form (which takes the order id alone).
type PrinterSendInput struct {
	OrderID string
	// SendTimeout bounds the printer call of a first try run as a local
	// activity (0: the printer's own timeout).
	SendTimeout time.Duration `json:",omitempty"`
	// PriorAttempts were made before this activity (the first try), so its
	// attempts are recorded after them.
	PriorAttempts int `json:",omitempty"`
}
