package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

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
	res, err := s.workflows.TakeEvent(ctx, printer, c.Param("id"), ev)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusAccepted
	if res.Result == "duplicate" {
		status = http.StatusOK
	}
	c.JSON(status, res)
}
