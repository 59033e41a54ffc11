package orderintake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Printer is a print service provider's endpoint that receives final requests.
type Printer struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	URL    string `json:"url"`
	Format string `json:"format"`
	// Headers go with every call to the printer. They are often its
	// credentials: stored sealed (HeadersSealed) and shown masked (Masked).
	Headers   map[string]string `json:"headers"`
	TimeoutMs int               `json:"timeoutMs"`
	// CancelURL is where cancels go: a template string over the order
	// (https://psp.example/orders/{{ printerOrderId }}/cancel); "" takes none.
	CancelURL string `json:"cancelUrl"`
	// OrderIDExpression finds the printer's own order id in its answer to
	// an order (id, data.order.id); "" keeps none.
	OrderIDExpression string    `json:"orderIdExpression"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
	// HeadersSealed is the sealed JSON of the headers; nil for a printer
	// written before headers were sealed (its Headers are then in clear).
	HeadersSealed []byte `json:"-"`
}

// Template is a versioned template; Body and Subject are those of Version.
type Template struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Body      string    `json:"body"`
	Subject   string    `json:"subject,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Strict: reading an undefined variable is a template error, not an empty value.
	Strict bool `json:"strict"`
}

// TemplateVersion is one saved version of a template.
type TemplateVersion struct {
	TemplateID string    `json:"templateId"`
	Version    int       `json:"version"`
	Format     string    `json:"format"`
	Body       string    `json:"body"`
	Subject    string    `json:"subject,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	Strict     bool      `json:"strict"`
}

// Customer is a merchant whose system sends orders.
type Customer struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	ReferenceID         string `json:"referenceId"`
	PrinterID           string `json:"printerId"`
	IntakeTemplateID    string `json:"intakeTemplateId"`
	CancelTemplateID    string `json:"cancelTemplateId"`
	ReferenceExpression string `json:"referenceExpression"`
	// Response templates render our answers to intake and cancel in the
	// merchant's own JSON or XML ("": our standard answer).
	SubmitResponseTemplateID string `json:"submitResponseTemplateId"`
	CancelResponseTemplateID string `json:"cancelResponseTemplateId"`
	// DelayedAfter fires the delayed event when the printer has not shipped
	// an order this long after it took it (0: never).
	DelayedAfter Duration  `json:"delayedAfter"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Duration is a time span written as in Go ("48h", "90m", "30s"; "" is 0).
type Duration time.Duration

// String writes d in its largest whole unit ("48h" rather than "48h0m0s").
func (d Duration) String() string {
	td := time.Duration(d)
	switch {
	case td == 0:
		return ""
	case td%time.Hour == 0:
		return fmt.Sprintf("%dh", td/time.Hour)
	case td%time.Minute == 0:
		return fmt.Sprintf("%dm", td/time.Minute)
	case td%time.Second == 0:
		return fmt.Sprintf("%ds", td/time.Second)
	}
	return td.String()
}

// ParseDuration reads "48h", "90m", "30s" (or a bare number of seconds);
// "" is 0. Negative spans and fractions of a second are refused.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		s = strconv.FormatInt(n, 10) + "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 48h, 90m or 30s", s)
	}
	if d < 0 || d%time.Second != 0 {
		return 0, fmt.Errorf("%q must be a positive whole number of seconds or more", s)
	}
	return Duration(d), nil
}

// MarshalJSON writes the duration as its string ("48h").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "48h" (or a number of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if nerr := json.Unmarshal(b, &n); nerr != nil {
			return fmt.Errorf("want a duration like \"48h\" or a number of seconds")
		}
		s = strconv.FormatInt(n, 10)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// APIKey is a customer's or printer's key; the plain key exists only at creation.
type APIKey struct {
	ID        string     `json:"id"`
	OwnerKind string     `json:"ownerKind"`
	OwnerID   string     `json:"ownerId"`
	Prefix    string     `json:"prefix"`
	Key       string     `json:"key,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Key owners.
const (
	OwnerCustomer = "customer"
	OwnerPrinter  = "printer"
)

// Trigger fires a postback for one customer and event.
type Trigger struct {
	ID             string    `json:"id"`
	CustomerID     string    `json:"customerId"`
	Name           string    `json:"name"`
	Event          string    `json:"event"`
	Method         string    `json:"method"`
	TemplateID     string    `json:"templateId"`
	Format         string    `json:"format"`
	URL            string    `json:"url,omitempty"`
	Emails         []string  `json:"emails,omitempty"`
	RetryOnFailure bool      `json:"retryOnFailure"`
	Status         string    `json:"status"`
	DisabledReason string    `json:"disabledReason,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	// Secret is returned once, at creation and rotation.
	Secret string `json:"secret,omitempty"`
}

// Destination names where a trigger delivers: its URL or its addresses.
func (t *Trigger) Destination() string {
	if t.Method == MethodEmail {
		return "mailto:" + strings.Join(t.Emails, ",")
	}
	return t.URL
}

// OrderRequest is one order and the four stages of its journey.
type OrderRequest struct {
	ID               string    `json:"id"`
	CustomerID       string    `json:"customerId"`
	PrinterID        string    `json:"printerId,omitempty"`
	WorkflowID       string    `json:"workflowId"`
	IdempotencyKey   string    `json:"idempotencyKey"`
	OrderReferenceID string    `json:"orderReferenceId"`
	Status           string    `json:"status"`
	StatusReason     string    `json:"statusReason,omitempty"`
	ReceivedAt       time.Time `json:"receivedAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	// PrinterOrderID is the printer's own id of the order, from its answer
	// through the printer's orderIdExpression ("" until then, or when none).
	PrinterOrderID string `json:"printerOrderId"`
	// Try numbers the current submit try (1, then 2 after a resubmit…).
	Try int `json:"try"`

	Original   OriginalRequest    `json:"originalRequest"`
	Processing TemplateProcessing `json:"templateProcessing"`
	Final      *FinalRequest      `json:"finalRequest"`
	Response   *SystemResponse    `json:"systemResponse"`
}

// SubmitTry is one earlier submit try of a resubmitted order, with the
// stages it had when the order was sent again (the current try is the
// order's own stages).
type SubmitTry struct {
	Try          int                `json:"try"`
	Status       string             `json:"status"`
	StatusReason string             `json:"statusReason,omitempty"`
	Processing   TemplateProcessing `json:"templateProcessing"`
	Final        *FinalRequest      `json:"finalRequest"`
	Response     *SystemResponse    `json:"systemResponse"`
	ArchivedAt   time.Time          `json:"archivedAt"`
}

// Cancel outcomes.
const (
	CancelPending  = "pending"
	CancelCanceled = "canceled"
	CancelRefused  = "refused" // the printer answered 4xx
	CancelFailed   = "failed"  // our settings (no cancel URL, a template error)
)

// CancelRequest is one cancel of an order with its four stages: what the
// customer sent, the cancel template's output, what went to the printer's
// cancel URL, what came back. A cancel before the printer took the order
// has no printer call (PrinterCalled false).
type CancelRequest struct {
	ID            string             `json:"id"`
	OrderID       string             `json:"orderId"`
	Source        string             `json:"source"` // customer | admin
	Outcome       string             `json:"outcome"`
	OutcomeReason string             `json:"outcomeReason,omitempty"`
	PrinterCalled bool               `json:"printerCalled"`
	RequestedAt   time.Time          `json:"requestedAt"`
	UpdatedAt     time.Time          `json:"updatedAt"`
	Original      OriginalRequest    `json:"originalRequest"`
	Processing    TemplateProcessing `json:"templateProcessing"`
	Final         *FinalRequest      `json:"finalRequest"`
	Response      *SystemResponse    `json:"systemResponse"`
}

// OriginalRequest is what the customer's system sent, as received.
type OriginalRequest struct {
	ContentType string              `json:"contentType"`
	Headers     map[string][]string `json:"headers"`
	Body        []byte              `json:"-"`
}

// TemplateProcessing is the intake template's output (or its error).
type TemplateProcessing struct {
	TemplateID      string          `json:"templateId,omitempty"`
	TemplateVersion int             `json:"templateVersion,omitempty"`
	Output          []byte          `json:"-"`
	Error           json.RawMessage `json:"error,omitempty"`
	ProcessedAt     *time.Time      `json:"processedAt,omitempty"`
	// Warnings of the render ([{line, column, message}]), null when none.
	Warnings json.RawMessage `json:"warnings,omitempty"`
}

// FinalRequest is what went to the printer.
type FinalRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"-"`
}

// SystemResponse is the printer's answer to the last attempt.
type SystemResponse struct {
	Attempts  int                 `json:"attempts"`
	SentAt    *time.Time          `json:"sentAt,omitempty"`
	Status    int                 `json:"status,omitempty"`
	Headers   map[string][]string `json:"headers,omitempty"`
	Body      []byte              `json:"-"`
	LatencyMs int                 `json:"latencyMs"`
	Error     string              `json:"error,omitempty"`
	// Warnings ([{message}]) say what could not be taken from a 2xx answer,
	// such as a printer order id the printer's expression did not find.
	Warnings json.RawMessage `json:"warnings,omitempty"`
}

// OrderEvent is one status report on an order, accepted or rejected.
type OrderEvent struct {
	ID           int64     `json:"id"`
	OrderID      string    `json:"orderId"`
	EventID      string    `json:"eventId"`
	Status       string    `json:"status"`
	Source       string    `json:"source"`
	OccurredAt   time.Time `json:"occurredAt"`
	RecordedAt   time.Time `json:"recordedAt"`
	Message      string    `json:"message,omitempty"`
	TrackingCode string    `json:"trackingCode,omitempty"`
	TrackingURL  string    `json:"trackingUrl,omitempty"`
	CarrierName  string    `json:"carrierName,omitempty"`
	Accepted     bool      `json:"accepted"`
	RejectReason string    `json:"rejectReason,omitempty"`
}

// Postback is one delivery of one event through one trigger.
type Postback struct {
	ID              string          `json:"id"`
	OrderID         string          `json:"orderId"`
	Event           string          `json:"event"`
	EventID         string          `json:"eventId"`
	TriggerID       string          `json:"triggerId"`
	CustomerID      string          `json:"customerId"`
	Method          string          `json:"method"`
	Destination     string          `json:"destination"`
	Format          string          `json:"format"`
	TemplateVersion int             `json:"templateVersion,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	Body            []byte          `json:"-"`
	RenderError     json.RawMessage `json:"renderError,omitempty"`
	RetryOnFailure  bool            `json:"retryOnFailure"`
	IsTest          bool            `json:"isTest"`
	Status          string          `json:"status"`
	StatusReason    string          `json:"statusReason,omitempty"`
	Attempts        int             `json:"attempts"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	NextAttemptAt   *time.Time      `json:"nextAttemptAt,omitempty"`
}

// PostbackAttempt is one try of a postback.
type PostbackAttempt struct {
	ID              int64             `json:"id"`
	PostbackID      string            `json:"postbackId"`
	Attempt         int               `json:"attempt"`
	Trigger         string            `json:"trigger"` // scheduled | manual
	StartedAt       time.Time         `json:"startedAt"`
	DurationMs      int               `json:"durationMs"`
	ResolvedIP      string            `json:"resolvedIp,omitempty"`
	RequestHeaders  map[string]string `json:"requestHeaders"`
	RequestBody     []byte            `json:"-"`
	ResponseStatus  int               `json:"responseStatus,omitempty"`
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`
	ResponseBody    []byte            `json:"-"`
	Outcome         string            `json:"outcome"`
	ErrorKind       string            `json:"errorKind,omitempty"`
	Error           string            `json:"error,omitempty"`
	NextAttemptAt   *time.Time        `json:"nextAttemptAt,omitempty"`
}

// LookupTable is a customer's value mapping used by lookups() in templates.
type LookupTable struct {
	ID         string            `json:"id"`
	CustomerID string            `json:"customerId"`
	Name       string            `json:"name"`
	Default    string            `json:"default"`
	Rows       map[string]string `json:"rows"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
}

// SMTPSettings are the work settings' outgoing mail server.
type SMTPSettings struct {
	FromAddress string `json:"fromAddress"`
	FromName    string `json:"fromName"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Username    string `json:"username"`
	Password    string `json:"-"`
	HasPassword bool   `json:"hasPassword"`
	TLS         bool   `json:"tls"`
	// AllowPlainAuth lets the username and password travel over a connection
	// without TLS (a relay on a trusted network); off, such a send is refused.
	AllowPlainAuth bool      `json:"allowPlainAuth"`
	UpdatedAt      time.Time `json:"updatedAt"`
}
