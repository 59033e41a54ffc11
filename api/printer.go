package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	oi "orderintake"
	"orderintake/workflows"
)

// decodeStrict decodes one JSON object and refuses unknown fields, so a
// misspelt field ("tracking_code") is an error rather than silently lost.
func decodeStrict(body []byte, v any) error {
	if !utf8.Valid(body) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		off := 0
		for i := 0; i < len(body); {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				off = i
				break
			}
			i += n
		}
		return &oi.Error{Code: oi.EMALFORMED, Field: "body", Message: "body is not valid UTF-8", Detail: map[string]any{"offset": off}}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &oi.Error{Code: oi.EMALFORMED, Field: "body", Message: "body is not valid JSON: " + syn.Error(),
			Detail: map[string]any{"offset": syn.Offset}}
	case errors.As(err, &typ):
		return &oi.Error{Code: oi.EINVALID, Field: typ.Field, Message: "field " + typ.Field + " must be a " + typ.Type.String()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &oi.Error{Code: oi.EINVALID, Field: f, Message: "unknown field " + f}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &oi.Error{Code: oi.EMALFORMED, Field: "body", Message: "body is empty or truncated JSON"}
	}
	return &oi.Error{Code: oi.EMALFORMED, Field: "body", Message: "body is not valid JSON: " + err.Error()}
}

// eventBody is the events route body; Timestamp is a string so that a bad
// one gets a precise error.
type eventBody struct {
	EventID      string `json:"eventId"`
	Status       string `json:"status"`
	Timestamp    string `json:"timestamp"`
	Message      string `json:"message"`
	TrackingCode string `json:"trackingCode"`
	TrackingURL  string `json:"trackingUrl"`
	CarrierName  string `json:"carrierName"`
}

func (b *eventBody) validate() (workflows.PrinterEvent, error) {
	ev := workflows.PrinterEvent{EventID: strings.TrimSpace(b.EventID), Status: b.Status, Message: b.Message,
		TrackingCode: b.TrackingCode, TrackingURL: b.TrackingURL, CarrierName: b.CarrierName}
	switch {
	case ev.EventID == "":
		return ev, oi.FieldError("eventId", "eventId is required: the printer's id of this event, used to ignore repeats")
	case len(ev.EventID) > 200:
		return ev, oi.FieldError("eventId", "eventId is longer than 200 characters")
	case !oi.IsEvent(ev.Status):
		return ev, oi.FieldError("status", "status %q is not one of %s", b.Status, strings.Join(oi.PrinterEvents, ", "))
	case len(ev.Message) > 4000:
		return ev, oi.FieldError("message", "message is longer than 4000 characters")
	case !printable(ev.EventID):
		return ev, oi.FieldError("eventId", "eventId must be printable text")
	}
	for field, v := range map[string]string{"message": ev.Message, "trackingCode": ev.TrackingCode, "trackingUrl": ev.TrackingURL, "carrierName": ev.CarrierName} {
		if strings.ContainsRune(v, 0) { // text columns cannot hold NUL
			return ev, oi.FieldError(field, "%s contains a NUL character", field)
		}
		if field != "message" && len(v) > 2000 {
			return ev, oi.FieldError(field, "%s is longer than 2000 characters", field)
		}
	}
	ev.Timestamp = time.Now().UTC()
	if b.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, b.Timestamp)
		if err != nil {
			return ev, oi.FieldError("timestamp", "timestamp must be RFC 3339, like 2026-11-22T10:00:00Z")
		}
		ev.Timestamp = t.UTC()
	}
	return ev, nil
}

func (s *Server) printerEvent(c *gin.Context) {
	ctx := c.Request.Context()
	printer := who(c).key.OwnerID
	body, err := readBody(c, 64<<10)
	if err != nil {
		s.fail(c, err)
		return
	}
	var b eventBody
	if err := decodeStrict(body, &b); err != nil {
		s.fail(c, err)
		return
	}
	ev, err := b.validate()
	if err != nil {
		s.fail(c, err)
		return
	}
	route, err := s.Store.GetOrderRoute(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if route.PrinterID != printer {
		s.fail(c, oi.Errorf(oi.EFORBIDDEN, "order %s is not routed to this printer", route.ID))
		return
	}
	// A printer in a loop must not fire the merchant's triggers without end;
	// the workflow refuses past the cap too (for events already in flight).
	n, known, err := s.Store.OrderEventCount(ctx, route.ID, ev.EventID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !known && n >= workflows.MaxOrderEvents {
		s.fail(c, &oi.Error{Code: oi.ECONFLICT, Field: "eventId", Message: fmt.Sprintf(
			"order %s already has %d events, the most one order takes; event %s refused", route.ID, n, ev.EventID),
			Detail: map[string]any{"maxEvents": workflows.MaxOrderEvents}})
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = s.Temporal.SignalWorkflow(sctx, route.WorkflowID, "", workflows.SignalPrinterEvent, ev)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		c.JSON(http.StatusAccepted, gin.H{"orderId": route.ID, "eventId": ev.EventID, "status": ev.Status, "result": "queued"})
	case errors.As(err, &notFound):
		s.closedOrderEvent(c, route.ID, route.Status, ev)
	default:
		s.log.Error("signal order workflow", "orderId", route.ID, "workflowId", route.WorkflowID, "error", err)
		s.fail(c, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the event cannot be taken right now; try again"})
	}
}

// closedOrderEvent records an event that arrives after the order's workflow
// ended: a repeat of a known event is answered as such, anything else is
// recorded as rejected.
func (s *Server) closedOrderEvent(c *gin.Context, orderID, status string, ev workflows.PrinterEvent) {
	rec := &oi.OrderEvent{OrderID: orderID, EventID: ev.EventID, Status: ev.Status, Source: "printer", OccurredAt: ev.Timestamp,
		Message: ev.Message, TrackingCode: ev.TrackingCode, TrackingURL: ev.TrackingURL, CarrierName: ev.CarrierName,
		RejectReason: "order is already " + status + "; " + ev.Status + " ignored"}
	stored, inserted, err := s.Store.InsertOrderEvent(c.Request.Context(), rec)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !inserted {
		c.JSON(http.StatusOK, gin.H{"orderId": orderID, "eventId": ev.EventID, "status": stored.Status, "result": "duplicate"})
		return
	}
	s.fail(c, &oi.Error{Code: oi.ECONFLICT, Field: "status", Message: rec.RejectReason, Detail: map[string]any{"orderStatus": status}})
}
